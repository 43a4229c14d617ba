"""The embedded EVM dev chain: eth-tester on py-evm behind a JSON-RPC server on loopback.

`start_devchain()` builds the chain (fixed accounts, fixed genesis), deploys WETH, stablecoins
(6 and 18 decimals), WBTC (8), a bytes32-named token (like MKR), a token without `decimals()`,
an ERC-721, an ERC-1155 and Uniswap v3 (factory, NonfungiblePositionManager, SwapRouter, Quoter)
with seeded pools, then serves JSON-RPC on 127.0.0.1. Deployment is deterministic: the same
addresses on every start.

NOTICE: the Uniswap v3 contracts (v3-core, v3-periphery) are GPL-2.0-or-later, Copyright Uniswap
Labs; their compiled artifacts and the factory's deployment data come from the
`web3-ethereum-defi` package (MIT). The dev chain's own contracts (`contracts/*.vy`) are part of
ordex.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3

from ordex.devchain.chain import CHAIN_ID, DevChainNode, dev_private_keys
from ordex.devchain.deploy import Deployment, PoolInfo, deploy_all
from ordex.devchain.rpc import DevChainRpc
from ordex.devchain.rpc_server import InProcessProvider, RpcServer

__all__ = [
    "CHAIN_ID",
    "DevChain",
    "PoolInfo",
    "reorg",
    "simulate",
    "start_devchain",
]


@dataclass
class DevChain:
    """A running dev chain: its JSON-RPC `url`, funded `accounts`, deployed `contracts`."""

    url: str
    accounts: list[str]
    private_keys: list[str]
    contracts: dict[str, str]
    pools: dict[str, PoolInfo]
    decimals: dict[str, int | None]
    node: DevChainNode
    rpc: DevChainRpc
    server: RpcServer
    startup_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def chain_id(self) -> int:
        return CHAIN_ID

    def web3(self) -> Web3:
        """A web3 client calling the chain in-process (the same methods as over HTTP)."""
        return Web3(InProcessProvider(self.rpc))

    def describe(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "chain_id": CHAIN_ID,
            "accounts": self.accounts,
            "private_keys": self.private_keys,
            "contracts": self.contracts,
            "pools": {k: p.as_dict() for k, p in self.pools.items()},
            "decimals": self.decimals,
        }

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> DevChain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_devchain(
    home: Path | None = None, port: int = 0, host: str = "127.0.0.1", serve: bool = True
) -> DevChain:
    """Build, deploy and (with `serve`) start serving a dev chain; port 0 picks a free one."""
    started = time.monotonic()
    node = DevChainNode()
    rpc = DevChainRpc(node)
    w3 = Web3(InProcessProvider(rpc))
    deployment: Deployment = deploy_all(w3, node.accounts)
    server = RpcServer(rpc, host=host, port=port)
    if serve:
        server.start()
    chain = DevChain(
        url=server.url,
        accounts=[Web3.to_checksum_address(a) for a in node.accounts],
        private_keys=["0x" + k.hex() for k in dev_private_keys()],
        contracts={k: Web3.to_checksum_address(v) for k, v in deployment.contracts.items()},
        pools=deployment.pools,
        decimals=deployment.decimals,
        node=node,
        rpc=rpc,
        server=server,
        startup_seconds=time.monotonic() - started,
    )
    rpc.info = chain.describe()
    if home is not None:
        target = home / "devchain"
        target.mkdir(parents=True, exist_ok=True)
        (target / "devchain.json").write_text(json.dumps(chain.describe(), indent=2) + "\n")
    return chain


def simulate(url_or_chain: str | DevChain, blocks: int = 20, seed: int = 0) -> dict[str, int]:
    from ordex.devchain.simulate import simulate_traffic

    return simulate_traffic(url_or_chain, blocks=blocks, seed=seed)


def reorg(url_or_chain: str | DevChain, depth: int) -> dict[str, Any]:
    from ordex.devchain.simulate import reorg_chain

    return reorg_chain(url_or_chain, depth)
