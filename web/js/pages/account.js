// The account: who is signed in, and two-step verification (TOTP) on or off.
import { ApiError, post, remove, session } from "../api.js";
import { busy, field, form, h, showProblem } from "../ui.js";

export default function render({ page }) {
  const me = session.get();
  const mfa = h("section", { class: "panel", "aria-labelledby": "mfa-h" });
  page("Account", h("p", {}, `Signed in as ${me.name || me.email} (${me.email}).`), mfa);
  drawStart(mfa, me);
}

function drawStart(host, me) {
  const status = h("p", { class: "form-error", role: "alert", hidden: true });
  const fail = (e) => {
    if (!(e instanceof ApiError)) throw e;
    status.textContent = e.message;
    status.hidden = false;
  };
  host.replaceChildren(
    h("h2", { id: "mfa-h" }, "Two-step verification"),
    h("p", {}, "Ask for a code from an authenticator app at each sign-in."),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "primary", onclick: (e) => busy(e.currentTarget, () => post("/users/me/mfa", { access_token: me.access_token }).then((secret) => drawVerify(host, me, secret), fail)) }, "Turn on two-step verification"),
      h("button", { type: "button", onclick: (e) => busy(e.currentTarget, () => remove("/users/me/mfa").then(() => { status.hidden = false; status.textContent = "Two-step verification is off."; }, fail)) }, "Turn off two-step verification"),
    ),
    status,
  );
}

function drawVerify(host, me, { secret, otpauth_uri: uri }) {
  const el = form(
    (data) =>
      busy(el.querySelector("button[type=submit]"), async () => {
        try {
          await post("/users/me/mfa/verify", { access_token: me.access_token, code: data.get("code").trim() });
          host.replaceChildren(h("h2", { id: "mfa-h" }, "Two-step verification"), h("p", { role: "status" }, "Two-step verification is on. Sign-ins now ask for a code."));
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
          showProblem(el, e);
        }
      }),
    field("Code", "code", { inputmode: "numeric", autocomplete: "one-time-code", required: true }),
    h("button", { type: "submit", class: "primary" }, "Verify and turn on"),
  );
  host.replaceChildren(
    h("h2", { id: "mfa-h" }, "Two-step verification"),
    h("p", {}, "Add this key to your authenticator app, then enter the code it shows."),
    h("p", {}, h("code", { class: "secret" }, secret)),
    h("p", {}, h("a", { href: uri }, "Open in an authenticator app")),
    el,
  );
}
