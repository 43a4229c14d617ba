"""`ordex devchain`: run the embedded EVM dev chain alone, or drive traffic and reorgs on one."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from ordex.devchain import DevChain

devchain_app = typer.Typer(
    help="The embedded EVM dev chain (eth-tester on py-evm, JSON-RPC on loopback)",
    invoke_without_command=True,
)
console = Console()


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@devchain_app.callback()
def devchain_run(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the JSON-RPC server")] = 8545,
    home: Annotated[
        Path | None, typer.Option(help="Where to write devchain.json (default: none)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the description as JSON")] = False,
) -> None:
    """Run the dev chain alone: print its URL, accounts and contract addresses, serve until Ctrl-C."""
    if ctx.invoked_subcommand is not None:
        return
    from ordex.devchain import start_devchain

    signal.signal(signal.SIGTERM, _stop)
    try:
        chain = start_devchain(home, port=port, host=host, serve=False)
    except OSError as exc:  # the port is taken
        Console(stderr=True).print(f"[red]error:[/red] cannot listen on {host}:{port}: {exc}")
        raise typer.Exit(1) from exc
    if as_json:
        print(json.dumps(chain.describe(), indent=2), flush=True)
    else:
        _print_chain(chain)
    try:
        chain.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        chain.stop()


def _print_chain(chain: DevChain) -> None:
    console.print(
        f"[bold]dev chain[/bold] at [cyan]{chain.url}[/cyan] "
        f"(chain id {chain.chain_id}, ready in {chain.startup_seconds:.1f} s)"
    )
    accounts = Table("#", "account", title="Accounts (1,000,000 ETH each)")
    accounts.columns[1].no_wrap = True
    for i, account in enumerate(chain.accounts):
        accounts.add_row(str(i), account)
    console.print(accounts)
    console.print(
        "Private keys (dev only): account #i has key i+1 as 32 bytes, e.g. #0 is 0x00..01; "
        "`--json` prints them all."
    )
    contracts = Table("key", "address", title="Contracts")
    contracts.columns[1].no_wrap = True
    for key, address in chain.contracts.items():
        contracts.add_row(key, address)
    console.print(contracts)
    pools = Table("pool", "address", "fee", title="Uniswap v3 pools")
    pools.columns[1].no_wrap = True
    for key, pool in chain.pools.items():
        pools.add_row(key, pool.address, str(pool.fee))
    console.print(pools)


@devchain_app.command("simulate")
def devchain_simulate(
    url: Annotated[str, typer.Option(help="JSON-RPC URL of a running dev chain")] = (
        "http://127.0.0.1:8545"
    ),
    blocks: Annotated[int, typer.Option(min=1, help="Blocks of traffic to mine")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the random traffic")] = 0,
    reorg_depth: Annotated[
        int, typer.Option("--reorg", min=0, help="Then reorg this many blocks (0: none)")
    ] = 0,
) -> None:
    """Send realistic traffic: transfers, swaps that move prices, LP mints and burns, NFTs."""
    from ordex.devchain import reorg, simulate

    counts = simulate(url, blocks=blocks, seed=seed)
    console.print(counts)
    if reorg_depth:
        result = reorg(url, reorg_depth)
        console.print(
            f"reorg: common ancestor {result['common_ancestor']}, "
            f"head {result['old_head']} -> {result['new_head']}"
        )


@devchain_app.command("reorg")
def devchain_reorg(
    depth: Annotated[int, typer.Argument(min=1, help="How many blocks to replace")],
    url: Annotated[str, typer.Option(help="JSON-RPC URL of a running dev chain")] = (
        "http://127.0.0.1:8545"
    ),
) -> None:
    """Replace the last DEPTH blocks with a longer fork."""
    from ordex.devchain import reorg

    console.print(reorg(url, depth))
