"""IPv6 transition protocol machines: 6to4, Teredo and IP-HTTPS, as exchanges of packets."""
