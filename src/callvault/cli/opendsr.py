"""``callvault opendsr``: the certificate of the key that signs OpenDSR answers and callbacks.

OpenDSR 4.1 wants a certificate issued by a trusted CA; until one is installed, ``serve`` publishes
a self-signed one for ``--domain``. To install a CA's: ``callvault opendsr csr --domain D`` prints a
certificate signing request for the signing key, the CA answers with a certificate, and
``callvault opendsr install FILE`` installs it (only a certificate of this very key is accepted).
"""

from __future__ import annotations

from pathlib import Path

import typer

from callvault import callback_certificate, certificate_request, install_certificate
from callvault.cli.common import open_vault, print_json

app = typer.Typer(help="The X.509 certificate of the OpenDSR signing key (published in discovery).")
DOMAIN = typer.Option(..., "--domain", help="The processor's OpenDSR domain (as `serve --domain`).")


@app.command("csr")
def csr(ctx: typer.Context, domain: str = DOMAIN) -> None:
    """Print a certificate signing request (PEM) for the signing key, for a CA to sign."""
    typer.echo(certificate_request(open_vault(ctx), domain), nl=False)


@app.command("install")
def install(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The CA's PEM certificate."),
) -> None:
    """Install a CA-issued certificate of the signing key; discovery publishes it from now on."""
    print_json(install_certificate(open_vault(ctx), file.read_text("ascii", errors="replace")))


@app.command("certificate")
def certificate(ctx: typer.Context, domain: str = DOMAIN) -> None:
    """Print the certificate in force (PEM): the installed one, else the self-signed one."""
    typer.echo(callback_certificate(open_vault(ctx), domain), nl=False)


def register(app_: typer.Typer) -> None:
    app_.add_typer(app, name="opendsr")
