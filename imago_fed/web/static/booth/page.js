// The booth page: reads the form, encrypts on this device, lets the voter
// audit (Benaloh challenge) as often as they like, and casts. The only
// request it makes is the POST of the encrypted ballot; the election's
// parameters are in the page itself (#booth-data), so nothing else is
// fetched, and nothing but the encrypted ballot ever leaves.

import { checkOpening, createBallot, loadElection } from "./ballot.js";
import { choicesFor } from "./choices.js";
import { credentialIsValid } from "./credential.js";

const data = JSON.parse(document.getElementById("booth-data").textContent);
const text = data.text;
const $ = (id) => document.getElementById(id);
const form = $("booth");
const credentialField = $("credential");

function say(message, isError = false) {
  $("status").textContent = message;
  $("status").className = isError ? "error" : "";
}

const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, k) => values[k] ?? "");

// WebCrypto (SHA-256, PBKDF2, the random generator) exists only in secure
// contexts: https, or a loopback address. Without it nothing can be made.
if (!globalThis.crypto?.subtle) {
  say(text.no_crypto, true);
  throw new Error("no WebCrypto");
}
form.hidden = false;

// A credential may arrive in the link's fragment (#XXX-XXX-…, or
// #credential=XXX-…). Browsers never send fragments to servers; take it,
// then drop it from the address bar and history so it is not left behind.
if (location.hash.length > 1) {
  const fragment = decodeURIComponent(location.hash.slice(1)).replace(/^credential=/, "");
  credentialField.value = fragment.trim();
  history.replaceState(null, "", location.pathname + location.search);
}

// Building g and y's tables takes a moment: start now, while the voter reads.
const loadStarted = performance.now();
const electionReady = loadElection(data.election).then((election) => {
  form.dataset.setupMs = String(Math.round(performance.now() - loadStarted));
  return election;
});

/** What the form says, as for an open vote (grades, ranks or option indexes). */
function picks() {
  const n = data.options.length;
  const checked = (name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)];
  switch (data.method) {
    case "majority_judgment":
      return Array.from({ length: n }, (_, i) => Number(checked(`grade-${i}`)[0]?.value ?? 0));
    case "schulze":
      return Array.from({ length: n }, (_, i) => Number(form.elements[`rank-${i}`].value));
    default:
      return checked("pick").map((input) => Number(input.value));
  }
}

let current = null; // the SealedBallot on offer: cast it, or audit it
let choices = null;

async function seal() {
  const election = await electionReady;
  const started = performance.now();
  current = await createBallot(election, credentialField.value.trim(), choices);
  const ms = Math.round(performance.now() - started);
  $("tracker").textContent = current.tracker;
  $("tracker").dataset.ms = String(ms);
  $("sealed").hidden = false;
  say(fill(text.encrypted, { ms }));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const credential = credentialField.value.trim();
  if (!credentialIsValid(credential)) {
    say(text.bad_credential, true);
    credentialField.focus();
    return;
  }
  // The radios are `required`: the browser points at an unanswered question.
  if (!form.reportValidity()) {
    say(text.incomplete, true);
    return;
  }
  try {
    choices = choicesFor(data.method, data.options, picks(), data.grades);
  } catch (error) {
    say(`${text.incomplete} (${error.message})`, true);
    return;
  }
  $("encrypt").disabled = true;
  say(text.encrypting);
  try {
    await seal();
    form.hidden = true;
  } catch (error) {
    say(error.message, true);
  } finally {
    $("encrypt").disabled = false;
  }
});

$("change").addEventListener("click", () => {
  current = null;
  $("sealed").hidden = true;
  form.hidden = false;
  say("");
});

$("audit").addEventListener("click", async () => {
  if (!current) return; // a second tap while the fresh ballot is being made
  const election = await electionReady;
  const audited = current;
  current = null; // never offered for casting again
  // The box learns of the audit before anything is revealed, so that this
  // ballot is refused for ever after, whoever would try to cast it.
  $("audit").disabled = true;
  say(text.auditing);
  let recorded;
  try {
    recorded = await fetch(data.audits, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: audited.raw,
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
  } catch (error) {
    recorded = null;
    say(fill(text.network, { reason: error.message }), true);
  } finally {
    $("audit").disabled = false;
  }
  if (!recorded || recorded.status !== 201) {
    if (recorded) {
      const body = await recorded.json().catch(() => ({}));
      say(fill(text.audit_unrecorded, { reason: body?.error?.message ?? `HTTP ${recorded.status}` }), true);
    }
    current = audited; // nothing was revealed: it may still be cast or audited
    return;
  }
  say("");
  const opening = audited.reveal();
  const problems = checkOpening(election, audited.raw, opening);
  const ok = problems.length === 0;
  $("audit-status").textContent = ok
    ? text.audit_ok
    : fill(text.audit_failed, { where: problems.join("; ") });
  $("audit-status").className = ok ? "" : "error";
  $("audit-status").dataset.ok = String(ok);
  $("audited-tracker").textContent = audited.tracker;
  const record = { election: `/elections/${data.id}`, ballot: JSON.parse(audited.raw), opening };
  $("audit-data").value = JSON.stringify(record, null, 1);
  $("audited").hidden = false;
  if (!ok) {
    $("sealed").hidden = true;
    return;
  }
  $("sealed").hidden = true;
  say(text.encrypting);
  await seal(); // fresh randomness: the audited ballot showed its vote
});

$("cast").addEventListener("click", async () => {
  if (!current) return;
  let raw;
  try {
    raw = current.forCasting();
  } catch {
    say(text.audited_refused, true);
    return;
  }
  $("cast").disabled = true;
  say(text.casting);
  let response;
  try {
    response = await fetch(data.ballots, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: raw,
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
  } catch (error) {
    say(fill(text.network, { reason: error.message }), true);
    $("cast").disabled = false;
    return;
  }
  const body = await response.json().catch(() => ({}));
  const reason = body?.error?.message ?? `HTTP ${response.status}`;
  if (response.status === 201) {
    $("cast-tracker").textContent = body.tracker;
    $("board-link").href = `${data.trackers}?tracker=${encodeURIComponent(body.tracker)}`;
    $("sealed").hidden = true;
    $("done").hidden = false;
    credentialField.value = ""; // nothing to keep once the ballot is in
    current = null;
    say("");
    return;
  }
  $("cast").disabled = false;
  if (response.status === 422 && reason.includes("ballot.credential")) {
    say(text.unknown_credential, true);
  } else if (response.status === 409) {
    say(fill(text.closed, { reason }), true);
  } else {
    say(fill(text.refused, { reason }), true);
  }
});
