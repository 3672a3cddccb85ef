// From what the voter picked (as for an open vote) to the 0/1 plaintexts of
// the election's questions. Mirrors choices_for in domain/voting/elections.py,
// which the server uses for the command-line ballot: a booth ballot and a
// CLI ballot with the same picks encrypt the same plaintexts.
//
//   majority_judgment  one grade per option, 1 (best) .. grades
//   approval           the approved option indexes
//   plurality, yes/no  one option index
//   schulze            one rank per option: 1 = first, equal ranks tie,
//                      0 = unranked (below every ranked option)

/** Schulze's pairwise encoding: per pair (i, j), i < j, [i above j, j above i]. */
export function schulzeChoices(ranks) {
  const n = ranks.length;
  const unranked = n + 1;
  const r = ranks.map((x) => (x ? x : unranked));
  const out = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) out.push([r[i] < r[j] ? 1 : 0, r[j] < r[i] ? 1 : 0]);
  }
  return out;
}

export function choicesFor(method, options, picks, grades) {
  const n = options.length;
  const bad = (why) => {
    throw new Error(why);
  };
  if (method === "schulze") {
    if (picks.length !== n || picks.some((r) => !Number.isInteger(r) || r < 0 || r > n)) {
      bad(`give one rank per option (${n}), 0 to ${n}`);
    }
    return schulzeChoices(picks);
  }
  if (method === "majority_judgment") {
    if (picks.length !== n || picks.some((g) => !Number.isInteger(g) || g < 1 || g > grades)) {
      bad(`give one grade 1..${grades} per option (${n})`);
    }
    return picks.map((g) => Array.from({ length: grades }, (_, k) => (g === k + 1 ? 1 : 0)));
  }
  if (picks.some((i) => !Number.isInteger(i) || i < 0 || i >= n) || new Set(picks).size !== picks.length) {
    bad("option indexes must be distinct and in range");
  }
  if (method === "plurality" && picks.length !== 1) bad("a ballot names exactly one of the options");
  return [Array.from({ length: n }, (_, i) => (picks.includes(i) ? 1 : 0))];
}
