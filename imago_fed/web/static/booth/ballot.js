// Making a Belenios ballot on the voter's device: the same ciphertexts,
// proofs and signature as the server's Python create_ballot, byte for byte
// in format, so the server, our auditor and belenios-tool all check it the
// same way. Every hash string below mirrors one in the Python code
// (domain/voting/crypto/ballots.py and proofs.py): change both or neither.
//
//   {"election_uuid","election_hash":phi,"credential":"<g^s>",
//    "answers":[{"choices":[{"alpha","beta"}…],"individual_proofs":[[π0,π1]…],
//                "overall_proof":[π…],"blank_proof"?:[π0,πΣ]}…],
//    "signature":{"hash":b64(sha256(ballot without signature)),"proof":π}}

import { deriveSecret } from "./credential.js";
import { ElectionGroup, sha256B64 } from "./group.js";

/** The parsed election with its group and key, and phi computed on its exact text. */
export async function loadElection(raw) {
  const value = JSON.parse(raw);
  if (value.version !== 1) throw new Error(`election version ${value.version}`);
  const questions = value.questions.map((q) => {
    if (q.type) throw new Error("non-homomorphic questions need a mixnet; not supported");
    const blank = q.blank === true;
    return { ...q, blank, width: q.answers.length + (blank ? 1 : 0) };
  });
  return {
    raw,
    uuid: value.uuid,
    fingerprint: await sha256B64(raw),
    group: new ElectionGroup(value.group, BigInt(value.public_key)),
    questions,
  };
}

const proofJson = (p) => ({ challenge: p.challenge.toString(), response: p.response.toString() });
const pair = (c) => `${c.alpha},${c.beta}`;

/**
 * A disjunctive proof that one of the clauses is true: each clause claims
 * (alpha, beta) encrypts its M. The prover knows r and the plaintext, so
 * false clauses are simulated (random challenge and response, commitments
 * computed from them) and the true one gets the challenge left over from
 * the hash. Mirrors prove_or; witnesses are {r, plain, m}.
 */
async function proveOr(group, prefix, witnesses, trueIndex) {
  const proofs = new Array(witnesses.length);
  const commitments = new Array(2 * witnesses.length);
  let total = 0n;
  witnesses.forEach((w, j) => {
    if (j === trueIndex) return;
    const c = group.randomScalar();
    const s = group.randomScalar();
    proofs[j] = { challenge: c, response: s };
    const e = group.mod(s + w.r * c);
    commitments[2 * j] = group.gPow(e);
    commitments[2 * j + 1] = group.mul(group.yPow(e), group.gPow(group.mod((w.plain - w.m) * c)));
    total += c;
  });
  const truth = witnesses[trueIndex];
  const w = group.randomScalar();
  commitments[2 * trueIndex] = group.gPow(w);
  commitments[2 * trueIndex + 1] = group.yPow(w);
  const c = group.mod((await group.hashToScalar(prefix, commitments)) - total);
  proofs[trueIndex] = { challenge: c, response: group.mod(w - truth.r * c) };
  return proofs;
}

/** Refuses what the proofs could not prove (so a bad form never gets this far). */
export function validateChoices(question, m) {
  if (m.length !== question.width || m.some((x) => x !== 0 && x !== 1)) {
    throw new Error(`expected ${question.width} values 0 or 1 for ${question.question}`);
  }
  const picks = question.blank ? m.slice(1) : m;
  const sum = picks.reduce((a, b) => a + b, 0);
  if (question.blank && m[0] === 1) {
    if (sum) throw new Error("a blank vote selects nothing");
  } else if (sum < question.min || sum > question.max) {
    throw new Error(`select between ${question.min} and ${question.max} answers`);
  }
}

async function makeAnswer(group, s0, question, m) {
  validateChoices(question, m);
  const rs = m.map(() => group.randomScalar());
  const cts = m.map((mi, i) => ({
    alpha: group.gPow(rs[i]),
    beta: group.mul(group.yPow(rs[i]), group.gPow(BigInt(mi))),
  }));
  const individual = [];
  for (let i = 0; i < m.length; i++) {
    const plain = BigInt(m[i]);
    const witnesses = [0n, 1n].map((M) => ({ r: rs[i], plain, m: M }));
    individual.push(await proveOr(group, `prove|${s0}|${pair(cts[i])}|`, witnesses, m[i]));
  }
  const s = `${s0}|${cts.map(pair).join(",")}`;
  const bounds = [];
  for (let b = question.min; b <= question.max; b++) bounds.push(BigInt(b));
  const answer = {
    choices: cts.map((c) => ({ alpha: c.alpha.toString(), beta: c.beta.toString() })),
    individual_proofs: individual.map((ps) => ps.map(proofJson)),
  };
  if (question.blank) {
    // Either the blank flag is 0 or nothing is picked; and either the flag
    // is 1 or the picks are in min..max (spec 4.12, bproof0 / bproof1).
    const m0 = BigInt(m[0]);
    const mSum = BigInt(m.slice(1).reduce((a, b) => a + b, 0));
    const rSum = group.mod(rs.slice(1).reduce((a, b) => a + b, 0n));
    const blank = await proveOr(
      group,
      `bproof0|${s}|`,
      [{ r: rs[0], plain: m0, m: 0n }, { r: rSum, plain: mSum, m: 0n }],
      m0 === 0n ? 0 : 1,
    );
    const overall = await proveOr(
      group,
      `bproof1|${s}|`,
      [{ r: rs[0], plain: m0, m: 1n }, ...bounds.map((b) => ({ r: rSum, plain: mSum, m: b }))],
      m0 === 1n ? 0 : 1 + Number(mSum) - question.min,
    );
    answer.overall_proof = overall.map(proofJson);
    answer.blank_proof = blank.map(proofJson);
  } else {
    const total = cts.reduce(
      (acc, c) => ({ alpha: group.mul(acc.alpha, c.alpha), beta: group.mul(acc.beta, c.beta) }),
      { alpha: 1n, beta: 1n },
    );
    const mSum = m.reduce((a, b) => a + b, 0);
    const rSum = group.mod(rs.reduce((a, b) => a + b, 0n));
    const overall = await proveOr(
      group,
      `prove|${s}|${pair(total)}|`,
      bounds.map((b) => ({ r: rSum, plain: BigInt(mSum), m: b })),
      mSum - question.min,
    );
    answer.overall_proof = overall.map(proofJson);
  }
  return { answer, randomness: rs };
}

/**
 * An encrypted, proven and signed ballot, and what opens it (plaintexts and
 * randomness). The opening is what a Benaloh audit reveals; once revealed,
 * the ballot is spoilt: it shows how it votes, so it must never be cast.
 */
export class SealedBallot {
  #opening;

  constructor(raw, tracker, opening) {
    this.raw = raw;
    this.tracker = tracker;
    this.#opening = opening;
    this.audited = false;
  }

  /** The randomness and plaintexts, once; the ballot is spoilt from then on. */
  reveal() {
    if (this.audited) throw new Error("this ballot was already audited");
    this.audited = true;
    const opening = this.#opening;
    this.#opening = null;
    return opening;
  }

  /** The ballot's bytes to post; refused for an audited ballot. */
  forCasting() {
    if (this.audited) throw new Error("an audited ballot can never be cast");
    return this.raw;
  }
}

/** Encrypt ``choices`` (per question, one 0/1 per answer, blank flag first). */
export async function createBallot(election, credential, choices) {
  const { group } = election;
  if (choices.length !== election.questions.length) {
    throw new Error(`expected answers to ${election.questions.length} questions`);
  }
  const secret = await deriveSecret(group, election.uuid, credential);
  const publicCredential = group.gPow(secret).toString();
  const s0 = `${election.fingerprint}|${publicCredential}`;
  const answers = [];
  const randomness = [];
  for (let i = 0; i < choices.length; i++) {
    const made = await makeAnswer(group, s0, election.questions[i], choices[i]);
    answers.push(made.answer);
    randomness.push(made.randomness.map(String));
  }
  // Fields in the specification's order: the signature covers these bytes.
  const body = {
    election_uuid: election.uuid,
    election_hash: election.fingerprint,
    credential: publicCredential,
    answers,
  };
  const signed = await sha256B64(JSON.stringify(body));
  const w = group.randomScalar();
  const challenge = await group.hashToScalar(`sig|${signed}|`, [group.gPow(w)]);
  const response = group.mod(w - secret * challenge);
  body.signature = { hash: signed, proof: proofJson({ challenge, response }) };
  const raw = JSON.stringify(body);
  const opening = { plaintexts: choices.map((m) => [...m]), randomness };
  return new SealedBallot(raw, await sha256B64(raw), opening);
}

/**
 * The voter's check of an audited ballot: every ciphertext is (g^r, y^r g^m)
 * for the revealed r and the plaintext the voter chose. A lying device
 * (one that encrypted something else) fails it with good probability each
 * time it is audited. Returns the list of problems (empty: it checks).
 */
export function checkOpening(election, raw, opening) {
  const { group } = election;
  const ballot = JSON.parse(raw);
  const problems = [];
  ballot.answers.forEach((answer, i) => {
    answer.choices.forEach((c, j) => {
      const r = BigInt(opening.randomness[i][j]);
      const m = BigInt(opening.plaintexts[i][j]);
      const ok =
        group.gPow(r).toString() === c.alpha &&
        group.mul(group.yPow(r), group.gPow(m)).toString() === c.beta;
      if (!ok) problems.push(`question ${i + 1}, answer ${j + 1}`);
    });
  });
  return problems;
}
