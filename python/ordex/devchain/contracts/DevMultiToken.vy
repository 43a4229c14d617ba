# pragma version ~=0.4.3
# A minimal ERC-1155: anyone may mint (it is a dev chain); holders transfer and burn.
# Receiver hooks are not called: the dev chain only sends to accounts.

MAX_BATCH: constant(uint256) = 64

event TransferSingle:
    operator: indexed(address)
    sender: indexed(address)
    receiver: indexed(address)
    id: uint256
    value: uint256

event TransferBatch:
    operator: indexed(address)
    sender: indexed(address)
    receiver: indexed(address)
    ids: DynArray[uint256, MAX_BATCH]
    values: DynArray[uint256, MAX_BATCH]

event ApprovalForAll:
    owner: indexed(address)
    operator: indexed(address)
    approved: bool

balanceOf: public(HashMap[address, HashMap[uint256, uint256]])
isApprovedForAll: public(HashMap[address, HashMap[address, bool]])

SUPPORTED: constant(bytes4[3]) = [0x01ffc9a7, 0xd9b67a26, 0x0e89341c]


@view
@external
def supportsInterface(interfaceId: bytes4) -> bool:
    return interfaceId in SUPPORTED


@view
@external
def uri(id: uint256) -> String[96]:
    return "https://multi.ordex.invalid/{id}.json"


@view
@external
def balanceOfBatch(owners: DynArray[address, MAX_BATCH], ids: DynArray[uint256, MAX_BATCH]) -> DynArray[uint256, MAX_BATCH]:
    assert len(owners) == len(ids), "length mismatch"
    out: DynArray[uint256, MAX_BATCH] = []
    for i: uint256 in range(len(owners), bound=MAX_BATCH):
        out.append(self.balanceOf[owners[i]][ids[i]])
    return out


@external
def setApprovalForAll(operator: address, approved: bool):
    self.isApprovedForAll[msg.sender][operator] = approved
    log ApprovalForAll(owner=msg.sender, operator=operator, approved=approved)


@external
def safeTransferFrom(sender: address, receiver: address, id: uint256, amount: uint256, data: Bytes[1024]):
    assert sender == msg.sender or self.isApprovedForAll[sender][msg.sender], "not allowed"
    assert receiver != empty(address), "zero receiver"
    self.balanceOf[sender][id] -= amount
    self.balanceOf[receiver][id] += amount
    log TransferSingle(operator=msg.sender, sender=sender, receiver=receiver, id=id, value=amount)


@external
def safeBatchTransferFrom(sender: address, receiver: address, ids: DynArray[uint256, MAX_BATCH], amounts: DynArray[uint256, MAX_BATCH], data: Bytes[1024]):
    assert sender == msg.sender or self.isApprovedForAll[sender][msg.sender], "not allowed"
    assert receiver != empty(address), "zero receiver"
    assert len(ids) == len(amounts), "length mismatch"
    for i: uint256 in range(len(ids), bound=MAX_BATCH):
        self.balanceOf[sender][ids[i]] -= amounts[i]
        self.balanceOf[receiver][ids[i]] += amounts[i]
    log TransferBatch(operator=msg.sender, sender=sender, receiver=receiver, ids=ids, values=amounts)


@external
def mint(receiver: address, id: uint256, amount: uint256):
    assert receiver != empty(address), "zero receiver"
    self.balanceOf[receiver][id] += amount
    log TransferSingle(operator=msg.sender, sender=empty(address), receiver=receiver, id=id, value=amount)


@external
def mintBatch(receiver: address, ids: DynArray[uint256, MAX_BATCH], amounts: DynArray[uint256, MAX_BATCH]):
    assert receiver != empty(address), "zero receiver"
    assert len(ids) == len(amounts), "length mismatch"
    for i: uint256 in range(len(ids), bound=MAX_BATCH):
        self.balanceOf[receiver][ids[i]] += amounts[i]
    log TransferBatch(operator=msg.sender, sender=empty(address), receiver=receiver, ids=ids, values=amounts)


@external
def burn(owner: address, id: uint256, amount: uint256):
    assert owner == msg.sender or self.isApprovedForAll[owner][msg.sender], "not allowed"
    self.balanceOf[owner][id] -= amount
    log TransferSingle(operator=msg.sender, sender=owner, receiver=empty(address), id=id, value=amount)
