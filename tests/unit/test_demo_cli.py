"""`gridbot demo` (`make run`) says a taken port before starting or printing anything."""

import socket

from tests.cli import run_cli


def test_demo_refuses_a_taken_port_with_one_line(database_url):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_cli(["demo", "--port", str(port)], database_url)
    assert result.exit_code == 1
    assert f"port {port}" in result.stderr and "PORT=" in result.stderr
    assert "http://" not in result.output  # no address printed for a demo that cannot start
