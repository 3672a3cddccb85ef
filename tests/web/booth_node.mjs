// Runs the booth's own modules in Node: reads one request (JSON) on stdin,
// writes the ballot it makes (and its opening) on stdout, for the Python
// side to verify with the server's checker.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [, , staticDir] = process.argv;
const load = (name) => import(pathToFileURL(`${staticDir}/booth/${name}`).href);
const { loadElection, createBallot, checkOpening } = await load("ballot.js");
const { choicesFor } = await load("choices.js");

const request = JSON.parse(readFileSync(0, "utf8"));
const election = await loadElection(request.election);
const choices =
  request.choices ?? choicesFor(request.method, request.options, request.picks, request.grades);
const started = performance.now();
const sealed = await createBallot(election, request.credential, choices);
const ms = performance.now() - started;
const tracker = sealed.tracker;
let refused = null;
const opening = request.audit ? sealed.reveal() : null;
if (request.audit) {
  try {
    sealed.forCasting();
  } catch (error) {
    refused = error.message;
  }
}
const problems = opening ? checkOpening(election, sealed.raw, opening) : null;
process.stdout.write(JSON.stringify({ raw: sealed.raw, tracker, choices, opening, problems, refused, ms }));
