"""Microsoft's own Graph SDK for Python (msgraph-sdk) as a client of the emulator.

Every operation Tandem sends, and the list queries, through the SDK's request builders and
models: the SDK names action parameters as Graph's metadata does (`DestinationId`,
`Comment`, `Message`, ...), and any member its models do not know lands in
`additional_data`, which must hold nothing but OData annotations.
"""

from __future__ import annotations

import asyncio
import ssl
import warnings
from typing import Any

import pytest

from tandem_mailbox.certs import CertPaths
from tests.support.graph import G
from tests.support.servers import EmulatorHandle

# msgraph-sdk is the `sdk` extra, which scripts/test installs: missing, this module fails to
# import (never skipped). The SDK warns of its own deprecations (its request configurations).
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# The SDK's own modules warn of their deprecations as they import (kiota_abstractions).
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import httpx
    from kiota_abstractions.authentication import (
        AccessTokenProvider,
        AllowedHostsValidator,
        BaseBearerTokenAuthenticationProvider,
    )
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.generated.models.email_address import EmailAddress
    from msgraph.generated.models.exchange_id_format import ExchangeIdFormat
    from msgraph.generated.models.followup_flag import FollowupFlag
    from msgraph.generated.models.followup_flag_status import FollowupFlagStatus
    from msgraph.generated.models.message import Message
    from msgraph.generated.models.recipient import Recipient
    from msgraph.generated.users.item.events.item.tentatively_accept.tentatively_accept_post_request_body import (  # noqa: E501
        TentativelyAcceptPostRequestBody,
    )
    from msgraph.generated.users.item.messages.item.create_forward.create_forward_post_request_body import (  # noqa: E501
        CreateForwardPostRequestBody,
    )
    from msgraph.generated.users.item.messages.item.create_reply.create_reply_post_request_body import (  # noqa: E501
        CreateReplyPostRequestBody,
    )
    from msgraph.generated.users.item.messages.item.move.move_post_request_body import (
        MovePostRequestBody,
    )
    from msgraph.generated.users.item.messages.item.reply.reply_post_request_body import (
        ReplyPostRequestBody,
    )
    from msgraph.generated.users.item.messages.messages_request_builder import (
        MessagesRequestBuilder,
    )
    from msgraph.generated.users.item.send_mail.send_mail_post_request_body import (
        SendMailPostRequestBody,
    )
    from msgraph.generated.users.item.translate_exchange_ids.translate_exchange_ids_post_request_body import (  # noqa: E501
        TranslateExchangeIdsPostRequestBody,
    )

SUPPORT = "support@contoso.com"


class _Token(AccessTokenProvider):
    """The emulator's Graph token for a person, for the emulator's host only."""

    def __init__(self, token: str, host: str):
        self.token, self.host = token, host

    async def get_authorization_token(self, uri: str, additional_authentication_context=None):
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator([self.host])


def client(e: EmulatorHandle, http: httpx.AsyncClient, token: str) -> GraphServiceClient:
    """Microsoft's client, unmodified, pointed at the emulator's /v1.0 (through `http`, which
    the caller closes: the emulator keeps connections alive)."""
    host = e.url.removeprefix("https://")
    adapter = GraphRequestAdapter(
        BaseBearerTokenAuthenticationProvider(_Token(token, host.split(":")[0])), client=http
    )
    adapter.base_url = f"{e.url}/v1.0"
    return GraphServiceClient(request_adapter=adapter)


def unknown(model: Any) -> dict[str, Any]:
    """What the SDK's model did not recognise, OData annotations aside."""
    return {k: v for k, v in (model.additional_data or {}).items() if not k.startswith("@odata.")}


def test_tandems_operations_through_microsofts_sdk(
    fresh_emulator: EmulatorHandle, cert_paths: CertPaths
):
    e = fresh_emulator
    token = G(
        e,
        "lee@contoso.com",
        ["Mail.ReadWrite.Shared", "Mail.Send.Shared", "Calendars.ReadWrite.Shared", "User.Read"],
    ).token
    ids = [i["id"] for i in e.items(SUPPORT)][:4]
    escalations = next(
        f["id"]
        for m in e.world()["mailboxes"]
        if m["address"] == SUPPORT
        for f in m["folders"]
        if f["name"] == "Escalations"
    )
    event_id = next(
        i["id"] for i in e.items(SUPPORT, "calendar") if i["subject"] == "Customer call"
    )

    async def run() -> None:
        context = ssl.create_default_context(cafile=str(cert_paths.ca_cert))
        async with httpx.AsyncClient(verify=context) as http:
            await operations(client(e, http, token))

    async def operations(graph: GraphServiceClient) -> None:
        box = graph.users.by_user_id(SUPPORT)
        message = await box.messages.by_message_id(ids[0]).get()
        assert message is not None and message.id == ids[0] and unknown(message) == {}
        assert message.conversation_id and message.conversation_index
        assert message.from_ is not None and unknown(message.from_) == {}
        patched = await box.messages.by_message_id(ids[0]).patch(
            Message(
                categories=["Tandem: Lee Gu (lee@contoso.com)"],
                flag=FollowupFlag(flag_status=FollowupFlagStatus.Flagged),
                is_read=True,
            )
        )
        assert patched is not None and unknown(patched) == {}
        assert patched.flag is not None and patched.flag.flag_status == FollowupFlagStatus.Flagged
        moved = await box.messages.by_message_id(ids[0]).move.post(
            MovePostRequestBody(destination_id=escalations)
        )
        assert moved is not None and moved.id != ids[0] and unknown(moved) == {}
        draft = await box.messages.by_message_id(ids[1]).create_reply.post(
            CreateReplyPostRequestBody(comment="On it.")
        )
        assert draft is not None and draft.is_draft and unknown(draft) == {}
        await box.messages.by_message_id(draft.id).send.post()
        forward = await box.messages.by_message_id(ids[1]).create_forward.post(
            CreateForwardPostRequestBody(
                comment="FYI",
                to_recipients=[Recipient(email_address=EmailAddress(address="kenji@litware.com"))],
            )
        )
        assert forward is not None and unknown(forward) == {}
        await box.messages.by_message_id(ids[2]).reply.post(
            ReplyPostRequestBody(comment="Thanks for writing.")
        )
        await box.send_mail.post(
            SendMailPostRequestBody(
                message=Message(
                    subject="Hello",
                    to_recipients=[
                        Recipient(email_address=EmailAddress(address="kenji@litware.com"))
                    ],
                ),
                save_to_sent_items=True,
            )
        )
        event = await box.events.by_event_id(event_id).get()
        assert event is not None and unknown(event) == {}
        await box.events.by_event_id(event_id).tentatively_accept.post(
            TentativelyAcceptPostRequestBody(comment="Maybe", send_response=False)
        )
        folders = await box.mail_folders.get()
        assert folders is not None and folders.value
        assert all(unknown(f) == {} for f in folders.value)
        inbox = await box.mail_folders.by_mail_folder_id("inbox").get()
        assert inbox is not None and unknown(inbox) == {}
        children = await box.mail_folders.by_mail_folder_id("inbox").child_folders.get()
        assert children is not None and len(children.value or []) == 2
        # The list queries a team's views need.
        query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            filter="receivedDateTime ge 2026-01-01T00:00:00Z and isRead eq false",
            orderby=["receivedDateTime desc"],
            top=5,
            count=True,
            select=["subject", "receivedDateTime", "conversationId", "isRead"],
        )
        page = await box.messages.get(RequestConfiguration(query_parameters=query))
        assert page is not None and page.value and page.odata_next_link
        assert page.odata_count is not None and page.odata_count >= len(page.value)
        assert all(m.is_read is False and unknown(m) == {} for m in page.value)
        # Immutable ids, asked for with the Prefer header, and translated.
        config = RequestConfiguration()
        config.headers.add("Prefer", 'IdType="ImmutableId"')
        stable = await box.messages.by_message_id(ids[3]).get(config)
        assert stable is not None and stable.id and stable.id.startswith("AAkALg")
        translated = await box.translate_exchange_ids.post(
            TranslateExchangeIdsPostRequestBody(
                input_ids=[ids[3]],
                source_id_type=ExchangeIdFormat.RestId,
                target_id_type=ExchangeIdFormat.RestImmutableEntryId,
            )
        )
        assert translated is not None and translated.value
        assert translated.value[0].target_id == stable.id
        assert unknown(translated.value[0]) == {}

    asyncio.run(run())
    sent = e.deliveries()
    assert len(sent) == 3  # the drafted reply sent, the reply, sendMail
