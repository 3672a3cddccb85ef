// Arithmetic in the election's group (a prime-order subgroup of Z_p*), with
// native BigInt. Everything the booth computes is built from what is here:
// modular powers, fixed-base tables for g and the election key y, hashing to
// a scalar exactly as Belenios does, and uniformly random scalars.
//
// This module never touches the page, so it runs unchanged in Node (the
// cross-check test encrypts there and verifies with the server's code).

/** The groups the server may put in an election (its ``group`` field). */
export const GROUPS = {
  "BELENIOS-2048": {
    p: BigInt(
      "20694785691422546401013643657505008064922989295751104097100884787057374219242" +
      "71740192223725449768433812906663313807895840496005438963628979639303877390572" +
      "28036059737494276713767776188985898727358650490811670993105358677809800307904" +
      "91654063777173764198678527273474476341835600035698305193144284561701911000786" +
      "73730733356412397173289791324047457883446826065232797464795113767265869358218" +
      "00463179220736688600526271863633860887968821207694323661494910029234443463732" +
      "22145884100586421050242120365433561201320481118852408731077014151666200162313" +
      "177169372189248078507711827842317498073276598828825169183103125680162072880719"
    ),
    q: 78571733251071885079927659812671450121821421258408794611510081919805623223441n,
    g: BigInt(
      "24023526775018522092276877035323999327122876573783649165100753187876632741463" +
      "53219320285676155269678799694668298749389095083896573425601900601068477164491" +
      "73547413728310461045868131451178164675540052740288984613986453266121505579709" +
      "71620161682703128864324566638348636357821061549184199825343151897406581868686" +
      "51151358576410138882215396016043228843603930989333662772848406593138406010231" +
      "67509576377798266510360682240663507669776402534625377308513317349519424896775" +
      "40525736590494924776314759915751987751777114814909204566002054781270547282381" +
      "40972518639858334115700568353695553423781475582491896050296680037745308460627"
    ),
  },
};

/** base^e mod m by left-to-right square and multiply (for one-off bases). */
export function modPow(base, e, m) {
  let result = 1n;
  base %= m;
  for (let bit = BigInt(e.toString(2).length) - 1n; bit >= 0n; bit--) {
    result = (result * result) % m;
    if ((e >> bit) & 1n) result = (result * base) % m;
  }
  return result;
}

// Fixed-base exponentiation: g and y are raised to hundreds of exponents per
// ballot, so each gets a table of x^(d * 16^i) once; a power is then one
// multiplication per 4-bit digit of the exponent (64 for a 256-bit q), about
// six times fewer than square and multiply. This is what keeps a 5-option
// Majority Judgment ballot well under the time a voter will wait.
const WINDOW = 4n;
const DIGITS = 16;

class FixedBase {
  constructor(x, p, q) {
    this.p = p;
    this.q = q;
    this.rows = [];
    const count = Math.ceil(q.toString(2).length / Number(WINDOW));
    let base = x % p;
    for (let i = 0; i < count; i++) {
      const row = [1n];
      for (let d = 1; d < DIGITS; d++) row.push((row[d - 1] * base) % p);
      this.rows.push(row);
      base = (row[DIGITS - 1] * base) % p; // base^16: the next digit's weight
    }
  }

  pow(e) {
    const { p, q, rows } = this;
    e %= q;
    if (e < 0n) e += q;
    let result = 1n;
    for (let i = 0; e > 0n; i++, e >>= WINDOW) {
      const d = Number(e & 15n);
      if (d) result = (result * rows[i][d]) % p;
    }
    return result;
  }
}

const encoder = new TextEncoder();

/** SHA-256 of a string's UTF-8 bytes (WebCrypto: never a hand-rolled hash). */
export async function sha256(text) {
  const data = typeof text === "string" ? encoder.encode(text) : text;
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

export function bytesToBigInt(bytes) {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/** Standard base64 without padding: how Belenios writes phi, hashes, trackers. */
export function base64NoPad(bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/=+$/, "");
}

export async function sha256B64(text) {
  return base64NoPad(await sha256(text));
}

/** An election's group with its key y: everything a ballot needs to compute. */
export class ElectionGroup {
  constructor(name, y) {
    const known = GROUPS[name];
    if (!known) throw new Error(`unknown group ${name}`);
    this.name = name;
    ({ p: this.p, q: this.q, g: this.g } = known);
    this.y = y;
    if (modPow(y, this.q, this.p) !== 1n) throw new Error("the election key is not in the group");
    this.gTable = new FixedBase(this.g, this.p, this.q);
    this.yTable = new FixedBase(y, this.p, this.q);
  }

  mod(x) {
    const r = x % this.q;
    return r < 0n ? r + this.q : r;
  }

  mul(a, b) {
    return (a * b) % this.p;
  }

  gPow(e) {
    return this.gTable.pow(this.mod(e));
  }

  yPow(e) {
    return this.yTable.pow(this.mod(e));
  }

  pow(x, e) {
    return modPow(x, this.mod(e), this.p);
  }

  /** SHA-256(prefix + "x1,x2,...") read big-endian, mod q (Belenios's Fiat-Shamir). */
  async hashToScalar(prefix, elements) {
    const digest = await sha256(prefix + elements.map((x) => x.toString(10)).join(","));
    return bytesToBigInt(digest) % this.q;
  }

  /** Uniform in [0, q): rejection sampling, so no value is likelier than another. */
  randomScalar() {
    const bits = this.q.toString(2).length;
    const bytes = new Uint8Array(Math.ceil(bits / 8));
    const mask = (1n << BigInt(bits)) - 1n;
    for (;;) {
      crypto.getRandomValues(bytes);
      const candidate = bytesToBigInt(bytes) & mask;
      if (candidate < this.q) return candidate;
    }
  }
}
