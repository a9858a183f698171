"""`gridbot qr COMMUNITY --out DIR`: a printable QR code per building (PNG each, one PDF per community)."""

from __future__ import annotations

from pathlib import Path

import typer


def qr(community: str = typer.Argument(..., help="The community's area code."),
       out: Path = typer.Option(Path("qr"), "--out", help="Folder for the PNG files and the PDF."),
       account: str = typer.Option("", "--account", help="The kf account's open_kfid (default: the first one).")) -> None:
    """One QR code per building of a community: residents scan it in WeChat and their reports go there."""
    from bot.cli.context import session_factory, settings
    from bot.qr.links import community_codes, contact_url
    from bot.qr.render import pdf, png
    from bot.wecom.api import WeComClient
    from bot.wecom.errors import WeComError

    client = WeComClient.from_settings(settings())
    try:
        open_kfid = account or _first_account(client)
        with session_factory().begin() as session:
            base = contact_url(session, client, open_kfid)
            title, codes = community_codes(session, base, community)
    except WeComError as error:
        typer.echo(f"gridbot: WeCom refused: {error.describe()}", err=True)
        raise typer.Exit(1) from None
    except LookupError:
        typer.echo(f"gridbot: no community with code {community}", err=True)
        raise typer.Exit(1) from None
    if not codes:
        typer.echo(f"gridbot: community {community} has no buildings", err=True)
        raise typer.Exit(1)
    out.mkdir(parents=True, exist_ok=True)
    for code in codes:
        (out / f"{code.unit_code}.png").write_bytes(png(code.url))
    (out / f"{community}.pdf").write_bytes(pdf(codes, title))
    typer.echo(f"{len(codes)} building codes of {title}: {out}/*.png, {out / f'{community}.pdf'}")


def _first_account(client) -> str:
    accounts = client.kf_accounts()
    if not accounts:
        typer.echo("gridbot: WeCom lists no 微信客服 account for this app", err=True)
        raise typer.Exit(1)
    return accounts[0]["open_kfid"]


def register(app: typer.Typer) -> None:
    app.command("qr")(qr)
