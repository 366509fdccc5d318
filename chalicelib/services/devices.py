"""A user's push devices: registered as SNS platform endpoints, one per (platform, token)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.adapters.devices_repo import DevicesRepository
from chalicelib.adapters.push import EndpointGone, MobilePush, PlatformNotConfigured
from chalicelib.domain.clock import utc_now_text
from chalicelib.domain.errors import FieldError, NotFound, ValidationFailed
from chalicelib.domain.live import Device, DeviceList, RegisterDevice, device_id
from chalicelib.domain.principal import Principal


class DevicesService:
    def __init__(self, devices: DevicesRepository, push: MobilePush) -> None:
        self._devices = devices
        self._push = push

    def register(self, principal: Principal, cmd: RegisterDevice) -> tuple[Device, bool]:
        """Returns the device and whether it is new (the same token again is the same device)."""
        key = device_id(cmd.platform, cmd.token)
        existing = self._devices.get(principal.user_id, key)
        if existing:
            return _out(existing), False
        try:
            endpoint = self._push.create_endpoint(cmd.platform, cmd.token)
        except PlatformNotConfigured as exc:
            raise ValidationFailed(
                f"Push to {cmd.platform} is not set up on this stage",
                [FieldError("platform", f"one of {', '.join(self._push.platforms) or 'none'}")],
            ) from exc
        device: dict[str, Any] = {
            "user_id": principal.user_id,
            "device_id": key,
            "platform": cmd.platform,
            "endpoint_arn": endpoint,
            "created_at": utc_now_text(),
        }
        earlier = self._devices.add(device)
        if earlier:
            return _out(earlier), False
        return _out(device), True

    def list(self, principal: Principal) -> DeviceList:
        devices = sorted(self._devices.of_user(principal.user_id), key=lambda d: str(d["created_at"]))
        return DeviceList(items=[_out(d) for d in devices])

    def remove(self, principal: Principal, device_id_: str) -> None:
        removed = self._devices.remove(principal.user_id, device_id_)
        if removed is None:
            raise NotFound("No such device")
        self._push.delete_endpoint(str(removed["endpoint_arn"]))

    def delete_all(self, user_id: str) -> None:
        """Every device of a deleted account, with its SNS endpoint."""
        for device in self._devices.of_user(user_id):
            if self._devices.remove(user_id, str(device["device_id"])) is not None:
                self._push.delete_endpoint(str(device["endpoint_arn"]))


@dataclass
class Pushed:
    """What one push to a user did: messages sent, and the devices found gone."""

    pushed: int = 0
    gone_devices: list[str] = field(default_factory=list)


class PushService:
    """Mobile push to every device of a user; a disabled or deleted endpoint loses its device."""

    def __init__(self, devices: DevicesRepository, push: MobilePush) -> None:
        self._devices = devices
        self._push = push

    @property
    def enabled(self) -> bool:
        return bool(self._push.platforms)

    def devices_of(self, user_id: str) -> list[dict[str, Any]]:
        """The user's devices (none read while push is off)."""
        return self._devices.of_user(user_id) if self.enabled else []

    def send(self, user_id: str, payloads: Mapping[str, str], known: Iterable[dict[str, Any]] | None = None) -> Pushed:
        """Pushes to every device of the user (``known``: already looked up)."""
        done = Pushed()
        if not self.enabled:
            return done
        for device in known if known is not None else self.devices_of(user_id):
            try:
                self._push.send(str(device["endpoint_arn"]), payloads)
                done.pushed += 1
            except EndpointGone:
                # SNS deletes endpoints idempotently: a deleted one is deleted again harmlessly.
                self._push.delete_endpoint(str(device["endpoint_arn"]))
                self._devices.remove(user_id, str(device["device_id"]))
                done.gone_devices.append(str(device["device_id"]))
        return done


def _out(device: dict[str, Any]) -> Device:
    return Device.model_validate(device)
