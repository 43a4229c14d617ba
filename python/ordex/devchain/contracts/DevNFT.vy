# pragma version ~=0.4.3
# A minimal ERC-721: anyone may mint (it is a dev chain), owners transfer and burn.

interface ERC721Receiver:
    def onERC721Received(operator: address, sender: address, tokenId: uint256, data: Bytes[1024]) -> bytes4: nonpayable

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    tokenId: indexed(uint256)

event Approval:
    owner: indexed(address)
    approved: indexed(address)
    tokenId: indexed(uint256)

event ApprovalForAll:
    owner: indexed(address)
    operator: indexed(address)
    approved: bool

name: public(String[64])
symbol: public(String[32])
totalSupply: public(uint256)
nextTokenId: public(uint256)
ownerOf: public(HashMap[uint256, address])
balanceOf: public(HashMap[address, uint256])
getApproved: public(HashMap[uint256, address])
isApprovedForAll: public(HashMap[address, HashMap[address, bool]])

SUPPORTED: constant(bytes4[3]) = [0x01ffc9a7, 0x80ac58cd, 0x5b5e139f]


@deploy
def __init__(name_: String[64], symbol_: String[32]):
    self.name = name_
    self.symbol = symbol_
    self.nextTokenId = 1


@view
@external
def supportsInterface(interfaceId: bytes4) -> bool:
    return interfaceId in SUPPORTED


@view
@external
def tokenURI(tokenId: uint256) -> String[128]:
    assert self.ownerOf[tokenId] != empty(address), "no such token"
    return concat("https://nft.ordex.invalid/", uint2str(tokenId))


@internal
def _transfer(sender: address, receiver: address, tokenId: uint256):
    owner: address = self.ownerOf[tokenId]
    assert owner == sender, "not the owner"
    assert receiver != empty(address), "zero receiver"
    assert (
        msg.sender == owner
        or msg.sender == self.getApproved[tokenId]
        or self.isApprovedForAll[owner][msg.sender]
    ), "not allowed"
    self.getApproved[tokenId] = empty(address)
    self.balanceOf[sender] -= 1
    self.balanceOf[receiver] += 1
    self.ownerOf[tokenId] = receiver
    log Transfer(sender=sender, receiver=receiver, tokenId=tokenId)


@external
def transferFrom(sender: address, receiver: address, tokenId: uint256):
    self._transfer(sender, receiver, tokenId)


@external
def safeTransferFrom(sender: address, receiver: address, tokenId: uint256, data: Bytes[1024] = b""):
    self._transfer(sender, receiver, tokenId)
    if receiver.is_contract:
        answer: bytes4 = extcall ERC721Receiver(receiver).onERC721Received(msg.sender, sender, tokenId, data)
        assert answer == method_id("onERC721Received(address,address,uint256,bytes)", output_type=bytes4)


@external
def approve(approved: address, tokenId: uint256):
    owner: address = self.ownerOf[tokenId]
    assert msg.sender == owner or self.isApprovedForAll[owner][msg.sender], "not allowed"
    self.getApproved[tokenId] = approved
    log Approval(owner=owner, approved=approved, tokenId=tokenId)


@external
def setApprovalForAll(operator: address, approved: bool):
    self.isApprovedForAll[msg.sender][operator] = approved
    log ApprovalForAll(owner=msg.sender, operator=operator, approved=approved)


@external
def mint(receiver: address) -> uint256:
    assert receiver != empty(address), "zero receiver"
    tokenId: uint256 = self.nextTokenId
    self.nextTokenId = tokenId + 1
    self.ownerOf[tokenId] = receiver
    self.balanceOf[receiver] += 1
    self.totalSupply += 1
    log Transfer(sender=empty(address), receiver=receiver, tokenId=tokenId)
    return tokenId


@external
def burn(tokenId: uint256):
    owner: address = self.ownerOf[tokenId]
    assert msg.sender == owner, "not the owner"
    self.getApproved[tokenId] = empty(address)
    self.balanceOf[owner] -= 1
    self.ownerOf[tokenId] = empty(address)
    self.totalSupply -= 1
    log Transfer(sender=owner, receiver=empty(address), tokenId=tokenId)
