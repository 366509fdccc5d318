// Sign in (with the MFA step), sign up, confirm, forgot and reset password.
import { ApiError, post, startSession } from "../api.js";
import { busy, field, form, h, showProblem } from "../ui.js";

const VIEWS = { "/sign-in": signIn, "/sign-up": signUp, "/confirm": confirm, "/forgot": forgot, "/reset": reset };

export default function render(ctx) {
  return VIEWS[ctx.path](ctx);
}

function submitter(el) {
  return el.querySelector("button[type=submit]");
}

async function attempt(el, action) {
  try {
    return await busy(submitter(el), action);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showProblem(el, error);
    return undefined;
  }
}

function signIn({ query, go, home, page }) {
  const next = query.get("next");
  const finish = async (tokens, email) => {
    await startSession(tokens, email);
    go(next && next !== "/sign-in" ? next : home());
  };
  const el = form(
    (data) =>
      attempt(el, async () => {
        const email = data.get("email").trim();
        const result = await post("/auth/login", { email, password: data.get("password") }, { auth: false });
        if (result.challenge) return mfaStep(email, result, finish, page);
        return finish(result, email);
      }),
    field("Email", "email", { type: "email", autocomplete: "username", required: true }),
    field("Password", "password", { type: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  page(
    "Sign in",
    query.get("expired") ? h("p", { class: "notice", role: "status" }, "Your session ended. Sign in again; your cart is kept.") : null,
    el,
    h(
      "p",
      { class: "links" },
      h("a", { href: "#/sign-up" }, "Create an account"),
      " · ",
      h("a", { href: "#/forgot" }, "Forgot password?"),
    ),
  );
}

function mfaStep(email, challenge, finish, page) {
  const el = form(
    (data) =>
      attempt(el, async () => {
        const body = { email, session: challenge.session, code: data.get("code").trim() };
        return finish(await post("/auth/mfa", body, { auth: false }), email);
      }),
    field("Code", "code", { inputmode: "numeric", autocomplete: "one-time-code", required: true }),
    h("button", { type: "submit", class: "primary" }, "Verify"),
  );
  page("Two-step verification", h("p", {}, "Enter the 6-digit code from your authenticator app."), el);
}

function signUp({ go, page }) {
  const el = form(
    (data) =>
      attempt(el, async () => {
        const body = { name: data.get("name").trim(), email: data.get("email").trim(), password: data.get("password") };
        if (data.get("phone").trim()) body.phone = data.get("phone").trim();
        const result = await post("/auth/signup", body, { auth: false });
        go(result.confirmation_required ? `/confirm?email=${encodeURIComponent(body.email)}` : "/sign-in");
      }),
    field("Name", "name", { autocomplete: "name", required: true }),
    field("Email", "email", { type: "email", autocomplete: "email", required: true }),
    field("Password", "password", { type: "password", autocomplete: "new-password", required: true }),
    field("Phone (optional)", "phone", { type: "tel", autocomplete: "tel" }),
    h("button", { type: "submit", class: "primary" }, "Create account"),
  );
  page("Create account", el, h("p", { class: "links" }, h("a", { href: "#/sign-in" }, "I have an account")));
}

function confirm({ query, go, page }) {
  const el = form(
    (data) =>
      attempt(el, async () => {
        await post("/auth/confirm", { email: data.get("email").trim(), code: data.get("code").trim() }, { auth: false });
        go("/sign-in");
      }),
    field("Email", "email", { type: "email", value: query.get("email") || "", required: true }),
    field("Code", "code", { inputmode: "numeric", autocomplete: "one-time-code", required: true }),
    h("button", { type: "submit", class: "primary" }, "Confirm"),
  );
  page("Confirm your email", h("p", {}, "We sent a code to your email."), el);
}

function forgot({ go, page }) {
  const el = form(
    (data) =>
      attempt(el, async () => {
        const email = data.get("email").trim();
        await post("/auth/forgot", { email }, { auth: false });
        go(`/reset?email=${encodeURIComponent(email)}`);
      }),
    field("Email", "email", { type: "email", autocomplete: "email", required: true }),
    h("button", { type: "submit", class: "primary" }, "Send reset code"),
  );
  page("Reset your password", el);
}

function reset({ query, go, page }) {
  const el = form(
    (data) =>
      attempt(el, async () => {
        const body = { email: data.get("email").trim(), code: data.get("code").trim(), password: data.get("password") };
        await post("/auth/reset", body, { auth: false });
        go("/sign-in");
      }),
    field("Email", "email", { type: "email", value: query.get("email") || "", required: true }),
    field("Code", "code", { inputmode: "numeric", autocomplete: "one-time-code", required: true }),
    field("New password", "password", { type: "password", autocomplete: "new-password", required: true }),
    h("button", { type: "submit", class: "primary" }, "Reset password"),
  );
  page("Choose a new password", h("p", {}, "Enter the code we emailed you."), el);
}
