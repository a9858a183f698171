"""A 微信客服 resident for the e2e tests: writes through the fake WeCom, announced by the encrypted callback."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.wecom_sim import CallbackClient, kf_event_xml

KF_SEND = "/cgi-bin/kf/send_msg"
KF_WELCOME = "/cgi-bin/kf/send_msg_on_event"


@dataclass
class KfResident:
    """One resident on plain WeChat writing to the demo kf account."""

    fake: object  # tests.e2e.conftest.FakeWeCom
    wecom: CallbackClient
    external_userid: str
    open_kfid: str = "wkgridbotdemo0001"
    events: list[bytes] = field(default_factory=list)  # every callback body sent, for redelivery

    def write(self, **spec) -> dict:
        """Queue a message or event at the fake and send WeCom's kf_msg_or_event callback for it."""
        made = self.fake.http.post("/_fake/kf/inject", json={
            "external_userid": self.external_userid, "open_kfid": self.open_kfid, **spec}).json()
        assert made["errcode"] == 0, made
        self.announce(made["token"])
        return made

    def announce(self, token: str) -> None:
        response = self.wecom.post_xml(kf_event_xml(token, self.open_kfid))
        assert response.status_code == 200 and not response.content, response.text

    def say(self, text: str) -> dict:
        return self.write(msgtype="text", content=text)

    def received(self) -> list[str]:
        """What gridbot sent this resident through kf/send_msg (accepted by WeCom), oldest first."""
        return [c["json"]["text"]["content"] for c in self.fake.calls(KF_SEND)
                if c["json"].get("touser") == self.external_userid]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[str]:
        return self.fake.wait_for(self.received, count, timeout)
