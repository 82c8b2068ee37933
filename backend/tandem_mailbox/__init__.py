"""Tandem: Microsoft 365 shared mailboxes and delegate folders from inside Outlook, as yourself."""

from tandem_mailbox.app import create_app

__all__ = ["create_app"]
