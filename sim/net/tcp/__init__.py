"""A minimal but real TCP (RFC 9293): three-way handshake with Windows' SYN retransmission,
sequence numbers that count bytes, cumulative ACKs delayed as Windows delays them, one
retransmission timer per connection (RFC 6298 §5) with fast retransmit (RFC 5681 §3.2), FIN
close and RST.

Windows (KB 2786464, F2.17–F2.19): the SYN is retransmitted after an initial RTO of 3 s,
doubling, twice; with no answer the connect fails after 3 + 6 + 12 = 21 s with WSAETIMEDOUT
(0x274c). A RST in answer fails it at once with WSAECONNREFUSED (0x274d); a host answers a SYN
to a closed port with a RST (RFC 9293 §3.10.7.1).

Segments carry message objects (TLS records, HTTP messages, IPv6 packets in the IP-HTTPS
stream) in ``payload``; a message takes its ``size`` in bytes of sequence space and travels as
one segment of that size (no MSS segmentation: a 3 KB Certificate message is one 3 KB
segment). Sequence numbers are Python integers that start at a 32-bit ISN and are not wrapped;
the pcap encoder reduces them modulo 2**32. Not modelled: windows and congestion control,
TIME-WAIT, simultaneous open, urgent data.
"""

from sim.net.tcp.connection import TcpConnection
from sim.net.tcp.stack import Listener, TcpStack, reset_for, tcp_stack
from sim.net.tcp.timers import DUP_ACK_THRESHOLD, FIN_WAIT_2_TIMEOUT, TcpConfig

__all__ = ["DUP_ACK_THRESHOLD", "FIN_WAIT_2_TIMEOUT", "Listener", "TcpConfig", "TcpConnection",
           "TcpStack", "reset_for", "tcp_stack"]
