// A small, real ActivityPub peer built on Fedify 1.5.9, for imago_fed tests.
//
//   node peer.mjs --port N [--name alice] [--lenient] [--verbose]
//                 [--watch-stdin] [--max-lifetime SECONDS] [--icon URL]
//
// Serves, on http://127.0.0.1:N only:
//   * a Fedify federation with one Person actor at /users/<name> (RSA-2048 +
//     Ed25519 keys generated at start), personal inbox, shared inbox /inbox,
//     outbox, followers collection, notes at /users/<name>/notes/<uuid>, and
//     WebFinger / NodeInfo as Fedify provides them;
//   * a JSON control API (all bodies and answers are JSON; errors are
//     {"error": "..."} with 400 bad input, 404 unknown, 502 lookup/delivery
//     failed, 500 bug).  Targets are actor URLs (no acct: handles: Fedify's
//     WebFinger client only speaks https).  Optional "sharedInbox": true on
//     any sending route delivers to the target's shared inbox.
//       GET  /_test/health    -> {ok, name, actor, strict}
//       GET  /_test/received  -> [record]   inbound activities Fedify accepted
//       GET  /_test/rejected  -> [record]   inbox POSTs refused (status, reason, headers)
//       GET  /_test/sent      -> [record]   what this peer delivered (ok, error)
//       GET  /_test/errors    -> [record]   listener/background failures
//       GET  /_test/state     -> {followers: [id], following: {id: {state, follow_id}}, notes}
//       POST /_test/reset     {}                                  -> {ok}
//       POST /_test/follow    {target}                            -> {id, target, activity}
//       POST /_test/unfollow  {target}                            -> {id, follow_id, activity}
//       POST /_test/post      {to, content, inReplyTo?, public?, name?, summary?,
//                              audience?, cc?: [url], attachments?: [{url, mediaType,
//                              name?, width?, height?}]}  -> {note_id, activity_id, note, activity}
//       POST /_test/fetch     {url}  -> {status, content_type, size, sha256}  a plain GET
//       POST /_test/update    {object: note id, to, content}      -> {id, activity}
//       POST /_test/like      {object, to}                        -> {id, activity}
//       POST /_test/delete    {object, to}                        -> {id, activity}
//       POST /_test/undo      {object: id of an activity we sent, to} -> {id, activity}
//       POST /_test/send      {to, activity: {...}}               -> {id, activity}
//       POST /_test/send-raw  {to, activity: {...}}               -> {id, status, activity}
//            the JSON exactly as given (ValueFlows terms Fedify's vocabulary would
//            drop survive), signed with Fedify's signRequest (cavage, RSA key)
//
// Inbound deliveries are checked in "strict" mode by default: before Fedify
// sees a POST to an inbox, this script runs Fedify's own verifyRequest()
// (cavage HTTP signature, Date within +-1 h, Digest) and checks that the key
// owner is the activity's actor.  Reason: Fedify alone accepts an activity
// whose Linked Data signature or Object Integrity proof verifies even when it
// carries no HTTP signature at all, which Mastodon would refuse.  --lenient
// turns the pre-check off and leaves stock Fedify behaviour.
//
// Prints exactly one line "READY <port>" on stdout once listening; all logs go
// to stderr.  Exits on SIGTERM/SIGINT, when stdin closes (--watch-stdin), or
// after --max-lifetime seconds.

import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID, webcrypto } from "node:crypto";
import { Console } from "node:console";
import http from "node:http";
import process from "node:process";
import { parseArgs } from "node:util";

import {
  Accept,
  Activity,
  Announce,
  Block,
  Create,
  createFederation,
  Delete,
  Document,
  doesActorOwnKey,
  Endpoints,
  Image,
  Flag,
  Follow,
  generateCryptoKeyPair,
  isActor,
  Like,
  MemoryKvStore,
  Mention,
  Note,
  Object as APObject,
  Person,
  PUBLIC_COLLECTION,
  Reject,
  signRequest,
  Tombstone,
  Undo,
  Update,
  verifyRequest,
} from "@fedify/fedify";
import { Temporal } from "@js-temporal/polyfill";
import { configure, getConsoleSink } from "@logtape/logtape";

// ---------------------------------------------------------------- options

const { values: opts } = parseArgs({
  options: {
    port: { type: "string" },
    name: { type: "string", default: "alice" },
    lenient: { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
    "watch-stdin": { type: "boolean", default: false },
    "max-lifetime": { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    icon: { type: "string" },
  },
  strict: true,
});

const PORT = Number.parseInt(opts.port ?? "", 10);
if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) {
  process.stderr.write("usage: node peer.mjs --port N [--name alice]\n");
  process.exit(2);
}
const NAME = opts.name;
if (!/^[a-z0-9_]{1,32}$/.test(NAME)) {
  process.stderr.write("--name must match [a-z0-9_]{1,32}\n");
  process.exit(2);
}
const STRICT = !opts.lenient;
// The host name in our URLs (we always bind 127.0.0.1): "localhost" gives a
// second peer a different instance domain, e.g. to test domain blocks.
const HOST = opts.host ?? "127.0.0.1";
if (!["127.0.0.1", "localhost"].includes(HOST)) {
  process.stderr.write("--host must be 127.0.0.1 or localhost\n");
  process.exit(2);
}
const ORIGIN = `http://${HOST}:${PORT}`;
const MAX_BODY = 1024 * 1024; // Mastodon's limit for JSON documents
const MAX_RECORDS = 5000; // per list; oldest entries are dropped
const FETCH_TIMEOUT_MS = 10_000; // for detached Accept sends / Announce fetches

const sinks = { stderr: getConsoleSink({ console: new Console(process.stderr, process.stderr) }) };
await configure({
  sinks,
  contextLocalStorage: new AsyncLocalStorage(),
  loggers: [
    { category: "fedify", lowestLevel: opts.verbose ? "debug" : "error", sinks: ["stderr"] },
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
  ],
});

function log(...args) {
  process.stderr.write(`[peer ${NAME}] ${args.join(" ")}\n`);
}

// ---------------------------------------------------------------- state

// Fedify's generateCryptoKeyPair() makes 4096-bit RSA keys, which take up to a
// few seconds; 2048 bits (what Mastodon uses) keeps start-up fast.
const rsaPair = await webcrypto.subtle.generateKey(
  {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  },
  true,
  ["sign", "verify"],
);
const ed25519Pair = await generateCryptoKeyPair("Ed25519");

let seq = 0;
const received = []; // inbound activities accepted by Fedify
const rejected = []; // inbound deliveries refused (by the strict check or by Fedify)
const sent = []; // activities this peer sent, with delivery outcome
const errors = []; // listener / background errors
const followers = new Map(); // actor id -> Actor (a Fedify Recipient)
const following = new Map(); // actor id -> { follow: Follow, state }
const notes = new Map(); // uuid -> { note: Note, create: Create, deleted: bool }
const sentById = new Map(); // activity id -> Activity (for /_test/undo)

function push(list, entry) {
  list.push(entry);
  if (list.length > MAX_RECORDS) list.splice(0, list.length - MAX_RECORDS);
  return entry;
}

function errorText(error) {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Per-request data for inbox listeners: the raw JSON as received, the path,
// and the result of the strict HTTP-signature check.
const requestInfo = new AsyncLocalStorage();

// ---------------------------------------------------------------- federation

const federation = createFederation({
  kv: new MemoryKvStore(),
  allowPrivateAddress: true,
  origin: ORIGIN,
  userAgent: { software: `imago-fed-test-peer/0.0 (${NAME})` },
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== NAME) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: `${identifier} (Fedify test peer)`,
      summary: "<p>A Fedify 1.5.9 test peer for imago_fed.</p>",
      url: ctx.getActorUri(identifier),
      inbox: ctx.getInboxUri(identifier),
      outbox: ctx.getOutboxUri(identifier),
      followers: ctx.getFollowersUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      manuallyApprovesFollowers: false,
      discoverable: true,
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
      icon: opts.icon ? new Image({ url: new URL(opts.icon), mediaType: "image/png" }) : null,
    });
  })
  .mapHandle((_ctx, username) => (username === NAME ? NAME : null))
  .setKeyPairsDispatcher((_ctx, identifier) =>
    identifier === NAME ? [rsaPair, ed25519Pair] : []
  );

federation
  .setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) => {
    if (identifier !== NAME) return null;
    return { items: [...followers.values()] };
  })
  .setCounter((_ctx, identifier) => (identifier === NAME ? followers.size : null));

const liveCreates = () => [...notes.values()].filter((n) => !n.deleted).map((n) => n.create);
federation
  .setOutboxDispatcher("/users/{identifier}/outbox", (_ctx, identifier) => {
    if (identifier !== NAME) return null;
    return { items: liveCreates().reverse() };
  })
  .setCounter((_ctx, identifier) => (identifier === NAME ? liveCreates().length : null));

federation.setObjectDispatcher(Note, "/users/{identifier}/notes/{id}", (_ctx, values) => {
  if (values.identifier !== NAME) return null;
  const entry = notes.get(values.id);
  return entry == null || entry.deleted ? null : entry.note;
});

federation.setObjectDispatcher(Create, "/users/{identifier}/notes/{id}/activity", (_ctx, values) => {
  if (values.identifier !== NAME) return null;
  const entry = notes.get(values.id);
  return entry == null || entry.deleted ? null : entry.create;
});

federation.setNodeInfoDispatcher("/nodeinfo/2.1", () => ({
  software: { name: "imago-fed-test-peer", version: { major: 0, minor: 0, patch: 0 } },
  protocols: ["activitypub"],
  usage: { users: { total: 1 }, localPosts: notes.size, localComments: 0 },
}));

// ------------------------------------------------------------ inbox listeners

function typeName(activity) {
  return activity.constructor?.name ?? "Activity";
}

async function record(ctx, activity, extra = {}) {
  const info = requestInfo.getStore() ?? {};
  let json = info.json;
  if (json == null) {
    try {
      json = await activity.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader });
    } catch (error) {
      json = { error: errorText(error) };
    }
  }
  return push(received, {
    seq: ++seq,
    received_at: new Date().toISOString(),
    type: typeName(activity),
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    object_id: activity.objectId?.href ?? null,
    recipient: ctx.recipient ?? null,
    inbox: info.path ?? null,
    http_signature: info.signature ?? null,
    ld_signature: json != null && typeof json === "object" && "signature" in json,
    proof: json != null && typeof json === "object" && "proof" in json,
    activity: json,
    ...extra,
  });
}

function recordError(where, error, data = {}) {
  log(`error in ${where}: ${errorText(error)}`);
  push(errors, { at: new Date().toISOString(), where, error: errorText(error), ...data });
}

function guarded(where, fn) {
  return async (ctx, activity) => {
    try {
      await fn(ctx, activity);
    } catch (error) {
      recordError(where, error, { activity_id: activity.id?.href ?? null });
    }
  };
}

async function onFollow(ctx, follow) {
  const me = ctx.getActorUri(NAME);
  const entry = await record(ctx, follow, { accept: null });
  if (follow.objectId?.href !== me.href || follow.actorId == null) return;
  // Answer like a real server would: after the inbox POST has been answered.
  setImmediate(async () => {
    try {
      const follower = await withTimeout(follow.getActor(ctx), FETCH_TIMEOUT_MS, "follower lookup");
      if (follower == null || !isActor(follower)) throw new Error("follower is not an actor");
      followers.set(follower.id.href, follower);
      const accept = new Accept({
        id: new URL(`${me.href}/accepts/${randomUUID()}`),
        actor: me,
        object: follow,
        to: follower.id,
      });
      await withTimeout(
        ctx.sendActivity({ identifier: NAME }, follower, accept),
        FETCH_TIMEOUT_MS,
        "Accept delivery",
      );
      entry.accept = { status: "sent", id: accept.id.href };
      push(sent, { seq: ++seq, type: "Accept", id: accept.id.href, to: follower.id.href, ok: true });
    } catch (error) {
      if (follow.actorId != null) followers.delete(follow.actorId.href);
      entry.accept = { status: "error", error: errorText(error) };
      recordError("auto-accept", error, { follow_id: follow.id?.href ?? null });
    }
  });
}

async function onAcceptOrReject(ctx, activity) {
  await record(ctx, activity);
  const objectId = activity.objectId?.href;
  for (const f of following.values()) {
    if (f.follow.id?.href === objectId) f.state = activity instanceof Accept ? "accepted" : "rejected";
  }
}

async function onUndo(ctx, undo) {
  await record(ctx, undo);
  const info = requestInfo.getStore() ?? {};
  const inner = info.json?.object;
  const innerType = typeof inner === "object" && inner != null ? inner.type : null;
  if (innerType === "Follow" && undo.actorId != null) followers.delete(undo.actorId.href);
}

function isBareUri(value) {
  if (typeof value === "string") return true;
  return value != null && typeof value === "object" && !Array.isArray(value) &&
    Object.keys(value).every((k) => k === "id" || k === "@id");
}

async function onAnnounce(ctx, announce) {
  const info = requestInfo.getStore() ?? {};
  const raw = info.json?.object;
  const uri = announce.objectId?.href ?? null;
  if (uri == null || !isBareUri(raw)) {
    await record(ctx, announce, { fetched: null });
    return;
  }
  const fetched = { uri, status: "pending", object: null, type: null, error: null };
  await record(ctx, announce, { fetched });
  // Dereference like Mastodon does: a signed GET, in the background.
  setImmediate(async () => {
    try {
      const loader = await ctx.getDocumentLoader({ identifier: NAME });
      const { document } = await withTimeout(loader(uri), FETCH_TIMEOUT_MS, `GET ${uri}`);
      const object = await APObject.fromJsonLd(document, {
        documentLoader: loader,
        contextLoader: ctx.contextLoader,
      });
      fetched.object = document;
      fetched.type = object?.constructor?.name ?? null;
      fetched.status = "ok";
    } catch (error) {
      fetched.status = "error";
      fetched.error = errorText(error);
    }
  });
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .setSharedKeyDispatcher(() => ({ identifier: NAME }))
  .on(Follow, guarded("Follow", onFollow))
  .on(Accept, guarded("Accept", onAcceptOrReject))
  .on(Reject, guarded("Reject", onAcceptOrReject))
  .on(Undo, guarded("Undo", onUndo))
  .on(Announce, guarded("Announce", onAnnounce))
  .on(Create, guarded("Create", record))
  .on(Update, guarded("Update", record))
  .on(Delete, guarded("Delete", record))
  .on(Like, guarded("Like", record))
  .on(Block, guarded("Block", record))
  .on(Flag, guarded("Flag", record))
  .on(Activity, guarded("Activity", record)) // everything else (Add, Remove, Move...)
  .onError((_ctx, error) => recordError("inbox", error));

// ---------------------------------------------------------------- strict check

const INBOX_PATH = new RegExp(`^/(?:inbox|users/${NAME}/inbox)/?$`);

function actorIdOf(json) {
  const a = json?.actor;
  if (typeof a === "string") return a;
  if (a != null && typeof a === "object") return a.id ?? a["@id"] ?? null;
  return null;
}

// Returns { ok: true, signature } or { ok: false, status, reason, signature }.
async function strictCheck(request, json) {
  const ctx = federation.createContext(new URL(ORIGIN), undefined);
  const header = request.headers.get("signature");
  const keyId = header?.match(/keyId="([^"]*)"/)?.[1] ?? null;
  const signature = { key_id: keyId, owner: null, verified: false, header };
  if (header == null) return { ok: false, status: 401, reason: "no Signature header", signature };
  let key;
  try {
    key = await verifyRequest(request, {
      documentLoader: ctx.documentLoader,
      contextLoader: ctx.contextLoader,
    });
  } catch (error) {
    return { ok: false, status: 401, reason: `verifyRequest failed: ${errorText(error)}`, signature };
  }
  if (key == null) {
    return {
      ok: false,
      status: 401,
      reason: "HTTP signature did not verify (see Fedify's rules: (request-target), date, digest; Date within 1 h)",
      signature,
    };
  }
  signature.owner = key.ownerId?.href ?? null;
  let activity;
  try {
    activity = await Activity.fromJsonLd(json, {
      documentLoader: ctx.documentLoader,
      contextLoader: ctx.contextLoader,
    });
  } catch (error) {
    return { ok: false, status: 400, reason: `not an activity: ${errorText(error)}`, signature };
  }
  const owns = await doesActorOwnKey(activity, key, {
    documentLoader: ctx.documentLoader,
    contextLoader: ctx.contextLoader,
  });
  if (!owns) {
    return {
      ok: false,
      status: 401,
      reason: `key ${keyId} is not owned by the actor ${actorIdOf(json)}`,
      signature,
    };
  }
  signature.verified = true;
  return { ok: true, signature };
}

// ---------------------------------------------------------------- control API

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function jsonResponse(data, status = 200) {
  return new Response(JSON.stringify(data), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

function controlContext() {
  return federation.createContext(new URL(ORIGIN), undefined);
}

function requireString(body, key) {
  const v = body?.[key];
  if (typeof v !== "string" || v.length === 0) throw new HttpError(400, `"${key}" (string) is required`);
  return v;
}

function requireUrl(body, key) {
  const v = requireString(body, key);
  let url;
  try {
    url = new URL(v);
  } catch {
    throw new HttpError(400, `"${key}" must be an absolute URL (acct: handles need https WebFinger)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new HttpError(400, `"${key}" must be an http(s) URL`);
  }
  return url;
}

// A follow target: an http(s) actor URL, or a handle "@name@host" that Fedify
// resolves by WebFinger (over https, as Fedify always does for acct: URIs).
function requireTarget(body, key) {
  const v = requireString(body, key);
  if (/^@?[^@\s/]+@[^@\s/]+$/.test(v)) return { href: v };
  return requireUrl(body, key);
}

async function lookupActor(ctx, url) {
  const loader = await ctx.getDocumentLoader({ identifier: NAME });
  let actor;
  try {
    actor = await ctx.lookupObject(url.href, { documentLoader: loader });
  } catch (error) {
    throw new HttpError(502, `lookup of ${url.href} failed: ${errorText(error)}`);
  }
  if (actor == null) throw new HttpError(502, `lookup of ${url.href} returned nothing`);
  if (!isActor(actor)) throw new HttpError(400, `${url.href} is a ${typeName(actor)}, not an actor`);
  if (actor.inboxId == null) throw new HttpError(502, `${url.href} has no inbox`);
  return actor;
}

async function compact(ctx, object) {
  return await object.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader });
}

// Sends `activity` to `actor`; records the outcome; throws HttpError(502) on failure.
async function deliver(ctx, actor, activity, body) {
  const json = await compact(ctx, activity);
  const entry = push(sent, {
    seq: ++seq,
    type: typeName(activity),
    id: activity.id.href,
    to: actor.id?.href ?? null,
    inbox: (body?.sharedInbox ? actor.endpoints?.sharedInboxId : null)?.href ?? actor.inboxId.href,
    ok: null,
    error: null,
    activity: json,
  });
  sentById.set(activity.id.href, activity);
  try {
    await ctx.sendActivity({ identifier: NAME }, actor, activity, {
      preferSharedInbox: Boolean(body?.sharedInbox),
    });
    entry.ok = true;
  } catch (error) {
    entry.ok = false;
    entry.error = errorText(error);
    throw new HttpError(502, `delivery failed: ${entry.error}`);
  }
  return json;
}

function addressing(ctx, actor, body) {
  const to = [actor.id];
  const cc = [];
  if (body?.public) {
    to.push(PUBLIC_COLLECTION);
    cc.push(ctx.getFollowersUri(NAME));
  }
  for (const extra of Array.isArray(body?.cc) ? body.cc : []) cc.push(new URL(extra));
  return { tos: to, ccs: cc };
}

function noteIdFor(uuid) {
  return new URL(`${ORIGIN}/users/${NAME}/notes/${uuid}`);
}

function uuidOfNote(id) {
  const m = /\/users\/[^/]+\/notes\/([^/?#]+)$/.exec(new URL(id).pathname);
  return m?.[1] ?? null;
}

// Media attachments of a post: [{url, mediaType, name?, width?, height?}].
function attachmentsOf(body) {
  if (!Array.isArray(body.attachments)) return [];
  return body.attachments.map((a) => new Document({
    url: new URL(a.url),
    mediaType: a.mediaType ?? null,
    name: typeof a.name === "string" ? a.name : null,
    width: Number.isInteger(a.width) ? a.width : null,
    height: Number.isInteger(a.height) ? a.height : null,
  }));
}

const routes = {
  // Fetches a URL as a fediverse server fetches an attachment (a plain GET):
  // the status, Content-Type, size and SHA-256 of the bytes it got.
  "POST /_test/fetch": async (body) => {
    const url = requireString(body, "url");
    const response = await fetch(url, { redirect: "follow" });
    const bytes = new Uint8Array(await response.arrayBuffer());
    const digest = await webcrypto.subtle.digest("SHA-256", bytes);
    return {
      status: response.status,
      content_type: response.headers.get("content-type"),
      size: bytes.length,
      sha256: Buffer.from(digest).toString("hex"),
    };
  },

  "GET /_test/health": () => ({ ok: true, name: NAME, actor: `${ORIGIN}/users/${NAME}`, strict: STRICT }),
  "GET /_test/received": () => received,
  "GET /_test/rejected": () => rejected,
  "GET /_test/sent": () => sent,
  "GET /_test/errors": () => errors,
  "GET /_test/state": () => ({
    followers: [...followers.keys()],
    following: Object.fromEntries([...following].map(([k, v]) => [k, { state: v.state, follow_id: v.follow.id.href }])),
    notes: [...notes.entries()].map(([uuid, n]) => ({ id: noteIdFor(uuid).href, deleted: n.deleted })),
  }),
  "POST /_test/reset": () => {
    received.length = 0;
    rejected.length = 0;
    sent.length = 0;
    errors.length = 0;
    return { ok: true };
  },

  "POST /_test/follow": async (body) => {
    const ctx = controlContext();
    const actor = await lookupActor(ctx, requireTarget(body, "target"));
    const me = ctx.getActorUri(NAME);
    const follow = new Follow({
      id: new URL(`${me.href}/follows/${randomUUID()}`),
      actor: me,
      object: actor.id,
      to: actor.id,
    });
    following.set(actor.id.href, { follow, state: "pending" });
    const activity = await deliver(ctx, actor, follow, body);
    return { id: follow.id.href, target: actor.id.href, activity };
  },

  // What Fedify parses from an actor: its type, its location (a Place) and its tags.
  "POST /_test/lookup": async (body) => {
    const ctx = controlContext();
    const actor = await lookupActor(ctx, requireUrl(body, "target"));
    const loader = await ctx.getDocumentLoader({ identifier: NAME });
    const options = { documentLoader: loader, contextLoader: ctx.contextLoader };
    const location = await actor.getLocation(options);
    const tags = [];
    for await (const tag of actor.getTags(options)) {
      tags.push({ type: typeName(tag), name: tag.name?.toString() ?? null, href: tag.href?.href ?? null });
    }
    const url = location?.url instanceof URL ? location.url.href : location?.url?.href?.href ?? null;
    return {
      type: typeName(actor),
      location: location == null ? null : {
        type: typeName(location),
        name: location.name?.toString() ?? null,
        latitude: location.latitude ?? null,
        longitude: location.longitude ?? null,
        url,
      },
      tags,
    };
  },

  "POST /_test/unfollow": async (body) => {
    const ctx = controlContext();
    const actor = await lookupActor(ctx, requireUrl(body, "target"));
    const f = following.get(actor.id.href);
    if (f == null) throw new HttpError(404, `not following ${actor.id.href}`);
    const me = ctx.getActorUri(NAME);
    const undo = new Undo({
      id: new URL(`${me.href}/undos/${randomUUID()}`),
      actor: me,
      object: f.follow,
      to: actor.id,
    });
    const activity = await deliver(ctx, actor, undo, body);
    following.delete(actor.id.href);
    return { id: undo.id.href, follow_id: f.follow.id.href, activity };
  },

  "POST /_test/post": async (body) => {
    const ctx = controlContext();
    const actor = await lookupActor(ctx, requireUrl(body, "to"));
    const content = requireString(body, "content");
    const me = ctx.getActorUri(NAME);
    const uuid = randomUUID();
    const noteId = noteIdFor(uuid);
    const { tos, ccs } = addressing(ctx, actor, body);
    const handle = `@${actor.preferredUsername ?? "unknown"}@${actor.id.host}`;
    const published = Temporal.Now.instant();
    const note = new Note({
      id: noteId,
      attribution: me,
      content,
      name: typeof body.name === "string" ? body.name : null,
      summary: typeof body.summary === "string" ? body.summary : null,
      replyTarget: body.inReplyTo ? new URL(body.inReplyTo) : null,
      audience: body.audience ? new URL(body.audience) : null,
      tos,
      ccs,
      tags: [new Mention({ href: actor.id, name: handle })],
      attachments: attachmentsOf(body),
      published,
      url: noteId,
    });
    const create = new Create({
      id: new URL(`${noteId.href}/activity`),
      actor: me,
      object: note,
      tos,
      ccs,
      audience: body.audience ? new URL(body.audience) : null,
      published,
    });
    notes.set(uuid, { note, create, deleted: false });
    const activity = await deliver(ctx, actor, create, body);
    return {
      note_id: noteId.href,
      activity_id: create.id.href,
      note: await compact(ctx, note),
      activity,
    };
  },

  "POST /_test/update": async (body) => {
    const ctx = controlContext();
    const actor = await lookupActor(ctx, requireUrl(body, "to"));
    const uuid = uuidOfNote(requireString(body, "object"));
    const entry = uuid == null ? null : notes.get(uuid);
    if (entry == null || entry.deleted) throw new HttpError(404, "no such note of this peer");
    const me = ctx.getActorUri(NAME);
    entry.note = entry.note.clone({
      content: requireString(body, "content"),
      updated: Temporal.Now.instant(),
    });
    entry.create = entry.create.clone({ object: entry.note });
    const update = new Update({
      id: new URL(`${entry.note.id.href}/updates/${randomUUID()}`),
      actor: me,
      object: entry.note,
      tos: entry.note.toIds,
      ccs: entry.note.ccIds,
    });
    const activity = await deliver(ctx, actor, update, body);
    return { id: update.id.href, activity };
  },

  "POST /_test/like": async (body) => {
    const ctx = controlContext();
    const actor = await lookupActor(ctx, requireUrl(body, "to"));
    const object = requireUrl(body, "object");
    const me = ctx.getActorUri(NAME);
    const like = new Like({
      id: new URL(`${me.href}/likes/${randomUUID()}`),
      actor: me,
      object,
      to: actor.id,
    });
    const activity = await deliver(ctx, actor, like, body);
    return { id: like.id.href, activity };
  },

  "POST /_test/delete": async (body) => {
    const ctx = controlContext();
    const actor = await lookupActor(ctx, requireUrl(body, "to"));
    const object = requireUrl(body, "object");
    const uuid = uuidOfNote(object.href);
    const entry = uuid == null ? null : notes.get(uuid);
    if (entry != null) entry.deleted = true; // the note now answers 404
    const me = ctx.getActorUri(NAME);
    const del = new Delete({
      id: new URL(`${me.href}/deletes/${randomUUID()}`),
      actor: me,
      object: new Tombstone({ id: object }),
      tos: entry?.note.toIds ?? [actor.id],
      ccs: entry?.note.ccIds ?? [],
    });
    const activity = await deliver(ctx, actor, del, body);
    return { id: del.id.href, activity };
  },

  "POST /_test/undo": async (body) => {
    const ctx = controlContext();
    const actor = await lookupActor(ctx, requireUrl(body, "to"));
    const inner = sentById.get(requireString(body, "object"));
    if (inner == null) throw new HttpError(404, "no activity with that id was sent by this peer");
    const me = ctx.getActorUri(NAME);
    const undo = new Undo({
      id: new URL(`${me.href}/undos/${randomUUID()}`),
      actor: me,
      object: inner,
      to: actor.id,
    });
    const activity = await deliver(ctx, actor, undo, body);
    return { id: undo.id.href, activity };
  },

  // Sends an arbitrary activity (JSON-LD) signed with this peer's key.
  // Missing "@context", "id" and "actor" are filled in.  Fedify re-serialises it.
  "POST /_test/send": async (body) => {
    const ctx = controlContext();
    const actor = await lookupActor(ctx, requireUrl(body, "to"));
    const raw = body?.activity;
    if (raw == null || typeof raw !== "object" || Array.isArray(raw)) {
      throw new HttpError(400, '"activity" (object) is required');
    }
    const me = ctx.getActorUri(NAME);
    const json = {
      "@context": "https://www.w3.org/ns/activitystreams",
      id: `${me.href}/activities/${randomUUID()}`,
      actor: me.href,
      ...raw,
    };
    let activity;
    try {
      activity = await Activity.fromJsonLd(json, {
        documentLoader: ctx.documentLoader,
        contextLoader: ctx.contextLoader,
      });
    } catch (error) {
      throw new HttpError(400, `not an activity: ${errorText(error)}`);
    }
    const sentJson = await deliver(ctx, actor, activity, body);
    return { id: activity.id.href, activity: sentJson };
  },
};

// Posts a JSON document exactly as given: Fedify's Activity.fromJsonLd keeps
// only its own vocabulary, so FEP-0837 Proposals and Agreements go out this way.
routes["POST /_test/send-raw"] = async (body) => {
  const ctx = controlContext();
  const actor = await lookupActor(ctx, requireUrl(body, "to"));
  const raw = body?.activity;
  if (raw == null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new HttpError(400, '"activity" (object) is required');
  }
  const me = ctx.getActorUri(NAME);
  const json = {
    "@context": "https://www.w3.org/ns/activitystreams",
    id: `${me.href}/activities/${randomUUID()}`,
    actor: me.href,
    ...raw,
  };
  const inbox = (body?.sharedInbox ? actor.endpoints?.sharedInboxId : null) ?? actor.inboxId;
  const [pair] = await ctx.getActorKeyPairs(NAME);
  const unsigned = new Request(inbox.href, {
    method: "POST",
    headers: { "Content-Type": "application/activity+json", Accept: "application/activity+json" },
    body: JSON.stringify(json),
  });
  const signed = await signRequest(unsigned, rsaPair.privateKey, pair.keyId);
  const entry = push(sent, {
    seq: ++seq, type: String(json.type), id: json.id, to: actor.id?.href ?? null,
    inbox: inbox.href, ok: null, error: null, activity: json,
  });
  const response = await fetch(signed);
  entry.ok = response.ok;
  if (!response.ok) entry.error = `HTTP ${response.status}: ${(await response.text()).slice(0, 300)}`;
  return { id: json.id, status: response.status, activity: json };
};

async function handleControl(request, url) {
  const route = routes[`${request.method} ${url.pathname.replace(/\/$/, "")}`];
  if (route == null) return jsonResponse({ error: "no such control route" }, 404);
  let body = null;
  if (request.method === "POST") {
    const text = await request.text();
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        return jsonResponse({ error: "body is not JSON" }, 400);
      }
    }
  }
  try {
    return jsonResponse(await route(body ?? {}, url));
  } catch (error) {
    if (error instanceof HttpError) return jsonResponse({ error: error.message }, error.status);
    recordError(`control ${url.pathname}`, error);
    return jsonResponse({ error: errorText(error) }, 500);
  }
}

// ---------------------------------------------------------------- HTTP glue

async function handle(request) {
  const url = new URL(request.url);
  if (url.pathname.startsWith("/_test/")) return await handleControl(request, url);

  if (request.method !== "POST" || !INBOX_PATH.test(url.pathname)) {
    return await federation.fetch(request, { contextData: undefined });
  }

  // An inbox delivery.
  const bytes = new Uint8Array(await request.arrayBuffer());
  const headers = Object.fromEntries(request.headers);
  const fresh = () => new Request(request.url, { method: "POST", headers: request.headers, body: bytes });
  let json = null;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    // Fedify answers 400 itself.
  }
  const reject = (status, reason, signature) => {
    push(rejected, {
      seq: ++seq,
      at: new Date().toISOString(),
      path: url.pathname,
      status,
      reason,
      type: json?.type ?? null,
      id: json?.id ?? null,
      actor: actorIdOf(json),
      signature: signature ?? null,
      headers,
      activity: json,
    });
  };

  let signature = null;
  if (STRICT && json != null) {
    const check = await strictCheck(fresh(), json);
    signature = check.signature;
    if (!check.ok) {
      log(`rejected ${json?.type ?? "?"} to ${url.pathname}: ${check.reason}`);
      reject(check.status, check.reason, signature);
      return new Response(check.reason, { status: check.status, headers: { "Content-Type": "text/plain" } });
    }
  }
  const response = await requestInfo.run(
    { json, path: url.pathname, signature },
    () => federation.fetch(fresh(), { contextData: undefined }),
  );
  if (response.status >= 400) {
    const text = await response.clone().text();
    reject(response.status, `Fedify: ${text}`, signature);
  }
  return response;
}

function toRequest(req, body) {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(new URL(req.url, ORIGIN), {
    method: req.method,
    headers,
    body: hasBody ? body : undefined,
  });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  let size = 0;
  let aborted = false;
  req.on("data", (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY && !aborted) {
      aborted = true;
      res.writeHead(413, { "Content-Type": "text/plain" }).end("body too large");
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on("end", async () => {
    if (aborted) return;
    let response;
    try {
      response = await handle(toRequest(req, Buffer.concat(chunks)));
    } catch (error) {
      recordError(`${req.method} ${req.url}`, error);
      response = new Response(`peer error: ${errorText(error)}`, { status: 500 });
    }
    const out = Buffer.from(await response.arrayBuffer());
    const headers = {};
    response.headers.forEach((value, key) => {
      headers[key] = value;
    });
    res.writeHead(response.status, headers);
    res.end(out);
  });
});
server.requestTimeout = 30_000;
server.headersTimeout = 10_000;
server.keepAliveTimeout = 1_000;

// ---------------------------------------------------------------- lifecycle

let stopping = false;
function shutdown(reason) {
  if (stopping) return;
  stopping = true;
  log(`stopping (${reason})`);
  server.close();
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 500).unref();
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
if (opts["watch-stdin"]) {
  process.stdin.on("end", () => shutdown("stdin closed"));
  process.stdin.on("error", () => shutdown("stdin error"));
  process.stdin.resume();
}
const maxLifetime = Number.parseFloat(opts["max-lifetime"]);
if (Number.isFinite(maxLifetime) && maxLifetime > 0) {
  setTimeout(() => shutdown("max lifetime reached"), maxLifetime * 1000).unref();
}
server.on("error", (error) => {
  log(`server error: ${errorText(error)}`);
  process.exit(1);
});
server.listen(PORT, "127.0.0.1", () => {
  log(`listening on ${ORIGIN} as ${ORIGIN}/users/${NAME} (strict signatures: ${STRICT})`);
  process.stdout.write(`READY ${PORT}\n`);
});
