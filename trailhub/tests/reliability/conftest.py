"""The reliability suite's world: one owner's private device full of marked data,
and everyone who must not see it.

Every private datum carries a *canary*: a random string that appears nowhere
else. A response may contain a canary only when its caller is entitled to that
class of data; the tests look for the canaries in every response body, so a
leak shows up whatever the endpoint and however the data got there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from community.services import proposals
from devices.models import Device
from devices.services import create_auto_token, post_logs
from packs import services as packs
from portal import oauth, signing_keys
from portal import tokens as scoped_tokens
from revisions import services as revisions
from revisions.models import Trail
from trail.signatures.keys import certificate_pem, new_development_key
from webhooks.models import Delivery, Webhook

SPEC = "pantavisor-service-system@1"

# Who calls. "sibling" is another device of the same owner (it shares the
# owner's objects, nothing else); "stranger" is a device of another user.
ACTORS = ("anonymous", "owner", "other user", "device", "sibling", "stranger", "admin")
PEOPLE = ("owner", "other user", "admin")
DEVICES = ("device", "sibling", "stranger")
LOGGED_IN = ACTORS[1:]

# Canary classes and who may see each. Content (states, revisions) follows the
# device's visibility; the rest stays with the owner (and the device) even when
# the device is public.
CONTENT = "content"  # state, commit message, step meta: owner + device; everyone if public
OBJECTS = "objects"  # the owner's object names: owner and the owner's devices
META = "meta"  # user-meta and device-meta: owner + device
OWNER_ONLY = "owner-only"  # logs, auto tokens, packs: the owner alone
SECRET = "secret"  # a webhook's secret: written, never answered to anyone


def entitled(actor: str, canary_class: str, public: bool) -> bool:
    """Whether ``actor`` may see data of ``canary_class`` on the (private or public) target."""
    if canary_class == CONTENT:
        return public or actor in ("owner", "device")
    if canary_class == OBJECTS:
        return actor in ("owner", "device", "sibling")
    if canary_class == META:
        return actor in ("owner", "device")
    if canary_class == SECRET:
        return False
    return actor == "owner"


def canary(name: str) -> str:
    return f"canary{name}{secrets.token_hex(6)}"


@dataclass
class World:
    """The target (alice's device ``kiosk``), the callers, and the canaries."""

    target: object
    actors: dict
    canaries: dict[str, tuple[str, str]] = field(default_factory=dict)  # value -> (name, class)
    ids: dict[str, str] = field(default_factory=dict)  # path parameters
    object_bytes: bytes = b""

    def make_public(self) -> None:
        Device.objects.filter(pk=self.target.pk).update(public=True)
        self.target.public = True

    def leaks(self, actor: str, text: str, sent: str = "") -> list[str]:
        """The canaries in ``text`` that ``actor`` may not see (ignoring any it sent itself)."""
        public = self.target.public
        return [
            name
            for value, (name, cls) in self.canaries.items()
            if value in text and value not in sent and not entitled(actor, cls, public)
        ]


@pytest.fixture
def world(db, owner, outsider, make_user, make_device, objects_dir) -> World:
    """alice's private ``kiosk``: a trail with a factory state and a revision naming an
    uploaded object, both metadata, logs, an auto token, a pack it leads with a rollout."""
    c = {key: canary(key) for key in ("state", "msg", "stepmeta", "objname", "umeta", "dmeta")}
    c |= {key: canary(key) for key in ("log", "tokenmeta", "tokendesc", "pack", "packdesc")}
    c |= {"apitoken": canary("apitoken"), "signkey": canary("signkey")}
    c |= {"oauthapp": canary("oauthapp")}
    c |= {"hookurl": canary("hookurl"), "hooksecret": canary("hooksecret")}
    c |= {"proposal": canary("proposal")}
    admin = make_user("root", is_staff=True, is_superuser=True)
    target = make_device(
        owner, nick="kiosk", user_meta={"k": c["umeta"]}, device_meta={"k": c["dmeta"]}
    )
    sibling = make_device(owner, nick="sibling")
    stranger = make_device(outsider, nick="stranger")

    data = secrets.token_bytes(256)
    sha = hashlib.sha256(data).hexdigest()
    obj = revisions.request_upload(owner, sha, len(data), c["objname"])
    path = revisions.receive_upload(obj.id, sha, len(data), _Stream(data), len(data))
    assert path.present

    factory = {"#spec": SPEC, "canary.json": {"c": c["state"]}}
    trail = revisions.create_trail(target, factory)
    trail.device = target
    step = revisions.post_step(
        trail,
        {**factory, "app/root.squashfs": sha},
        commit_msg=c["msg"],
        meta={"m": c["stepmeta"]},
        author=owner,
    )
    post_logs(target, [{"msg": c["log"], "lvl": "INFO", "src": "app"}])
    token, _raw = create_auto_token(owner, c["tokendesc"], {"t": c["tokenmeta"]})
    api_token, _raw = scoped_tokens.issue(owner, c["apitoken"], ["devices:read"])
    # An app of the owner's, which the owner authorised too (Account › Apps).
    oauth_app = oauth.register(owner, c["oauthapp"], ["https://app.example.com/cb"])
    oauth_token(owner, oauth_app, ["devices:read"])
    _signer, cert = new_development_key("ec", "matrix")
    signing_key = signing_keys.add_pem(owner, c["signkey"], certificate_pem([cert]).decode())
    pack = packs.create_pack(owner, nick=c["pack"], leader=target, description=c["packdesc"])
    packs.add_follower(pack, sibling)
    rollout = packs.start_rollout(pack.id, trail.steps.get(rev=0).pk)
    # Port 9 of loopback: refused at delivery (WEBHOOK_ALLOW_PRIVATE_TARGETS is off).
    hook = Webhook.objects.create(
        owner=owner,
        url=f"http://127.0.0.1:9/{c['hookurl']}",
        events=["*"],
        secret=c["hooksecret"],
        last_number=1,
    )
    Delivery.objects.create(webhook=hook, number=1, event="revision.status", body="{}")
    assert rollout is not None
    # The owner proposes a revision of another device, lab, to kiosk (#1); lab's newest is
    # another. Not sibling's: the matrix has sibling make its first trail (POST /trails).
    # The proposal's title and body carry the canary.
    proposed = {"#spec": SPEC, "app/root.squashfs": sha, "proposal.json": {"p": 1}}
    lab = make_device(owner, nick="lab")
    lab_trail, _ = Trail.objects.get_or_create(device=lab)
    offered = revisions.post_step(lab_trail, proposed, author=owner)
    proposals.open_proposal(owner, target, offered, c["proposal"], c["proposal"])
    revisions.post_step(lab_trail, {**proposed, "proposal.json": {"n": 2}}, author=owner)

    world = World(
        target=target,
        actors={
            "anonymous": None,
            "owner": owner,
            "other user": outsider,
            "device": target,
            "sibling": sibling,
            "stranger": stranger,
            "admin": admin,
        },
        object_bytes=data,
    )
    classes = {
        "state": CONTENT,
        "msg": CONTENT,
        "stepmeta": CONTENT,
        "objname": OBJECTS,
        "umeta": META,
        "dmeta": META,
        "log": OWNER_ONLY,
        "tokenmeta": OWNER_ONLY,
        "tokendesc": OWNER_ONLY,
        "pack": OWNER_ONLY,
        "packdesc": OWNER_ONLY,
        "hookurl": OWNER_ONLY,
        "hooksecret": SECRET,
        "apitoken": OWNER_ONLY,
        "signkey": OWNER_ONLY,
        "proposal": CONTENT,
        "oauthapp": OWNER_ONLY,
    }
    world.canaries = {c[key]: (key, cls) for key, cls in classes.items()}
    world.ids = {
        "ref": target.id,
        "rev": str(step.rev),
        "sha": sha,
        "key": "app/root.squashfs",  # the object's file in the revision
        "usernick": owner.username,
        "devicenick": target.nick,
        "token_id": token.id,
        "api_token": api_token.id,
        "key_id": signing_key.id,
        "client_id": oauth_app.client_id,
        "owner": owner.username,
        "nick": target.nick,
        "filename": "kiosk.tar.gz",
        "pack": pack.id,
        "device": sibling.id,
        "lab": lab.id,  # the device proposals come from
        "rollout": rollout.id,
        "webhook_id": hook.id,
        "number": "1",  # a webhook's delivery, and a proposal to the target
        # A signed-URL token for the object with a forged signature (the grant is in the path).
        "token": f"get.{sha}.9999999999.forged",
    }
    return world


def oauth_token(person, app, scopes: list[str], lifetime: int = 3600) -> str:
    """An access token of ``app``'s for ``person`` (what ``/oauth/token/`` answers after
    the consent page; portal/tests/test_oauth.py runs that flow for real)."""
    from oauth2_provider.models import AccessToken, set_token_value

    raw = oauth.new_access_token()
    row = AccessToken(
        user=person,
        application=app,
        scope=" ".join(scopes),
        expires=timezone.now() + dt.timedelta(seconds=lifetime),
    )
    set_token_value(row, raw)
    row.save()
    return raw


@contextmanager
def undone() -> Iterator[None]:
    """Run the block, then roll back what it did to the database (the next caller meets
    the same world)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


class _Stream:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, size: int = -1) -> bytes:
        chunk, self.data = (self.data, b"") if size < 0 else (self.data[:size], self.data[size:])
        return chunk


# Rows that a request may touch without changing anything a person stored:
# sessions, the admin's own log, and presence.
_SKIPPED_MODELS = {"sessions.session", "admin.logentry", "contenttypes.contenttype"}
_VOLATILE = {"last_seen", "last_login"}


def stored(objects_dir: Path | None = None) -> dict:
    """Everything stored, table by table (presence aside), and the stored object files."""
    snapshot: dict = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if label in _SKIPPED_MODELS or model._meta.proxy:
            continue
        rows = model.objects.order_by("pk").values()
        snapshot[label] = [{k: v for k, v in row.items() if k not in _VOLATILE} for row in rows]
    folder = objects_dir or Path(settings.STORAGES["objects"]["OPTIONS"]["location"])
    if folder.is_dir():
        snapshot["files"] = sorted(
            str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()
        )
    return snapshot


def pytest_collection_modifyitems(config, items):
    """Mark this package's tests ``reliability``: ``make check-reliability`` runs them."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.reliability)
