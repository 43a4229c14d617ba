"""Adapters that replay the benchmark workload on other Python order books, one per package."""

from benchmarks.peers.base import Peer
from benchmarks.peers.bourse_peer import BoursePeer
from benchmarks.peers.cython_orderbook_peer import CythonOrderBookPeer
from benchmarks.peers.order_matching_peer import OrderMatchingPeer
from benchmarks.peers.orderbook_peer import OrderBookPeer
from benchmarks.peers.pure_python import PurePythonPeer
from benchmarks.peers.pyorderbook_peer import PyOrderBookPeer


def all_peers() -> list[Peer]:
    """Every peer, in the order of the report."""
    return [
        PurePythonPeer(),
        BoursePeer(),
        CythonOrderBookPeer(),
        PyOrderBookPeer(),
        OrderMatchingPeer(),
        OrderBookPeer(),
    ]
