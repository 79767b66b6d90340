// CPace (CPACE-X25519-SHA512) and Elligator 2 for curve25519 against their published vectors, in the
// firmware's crypto (build/kdf*.wasm: the same assembly/crypto modules as the token, release speed and
// size builds and the debug build) and in the bank's (host/bank/protocol.ts over @noble/curves and
// node:crypto); then the two against each other and against a bigint reference of RFC 9380 §6.7.1 on
// random field elements.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  calculateGenerator,
  elligator2 as bankElligator2,
  generatorString,
  intermediateSessionKey,
  lvCat,
  prependLen,
  ProtocolError,
  scalarMultVfy,
} from "../host/bank/protocol.js";
import { cpaceGenerator, cpaceIsk, elligator2, isAllZero, kdfInstance, type KdfExports, x25519 } from "../host/kdf.js";
import { ascii, CORE_BUILDS, fromHex, hex, testRandom } from "./helpers.js";
import { referenceElligator2, referenceGenerator, referenceX25519 } from "./reference-cpace.js";

// draft-irtf-cfrg-cpace-21 (23 April 2026), Appendix B.1 "Test vector for CPace using group X25519 and
// hash SHA-512", as published with the draft in the cfrg/draft-irtf-cfrg-cpace repository
// (testvectors.json, key "G_25519", tag draft-irtf-cfrg-cpace-21); generator_string and its hash from
// B.1.1. Byte strings are hex; scalars and points little-endian as on the wire.
const CPACE = {
  PRS: "50617373776f7264",
  CI: "0b415f696e69746961746f720b425f726573706f6e646572",
  sid: "7e4b4791d6a8ef019b936c79fb7f2c57",
  // 170 bytes: lv_cat(DSI, PRS), then prepend_len of 109 zero bytes (0x6d), then lv_cat(CI, sid).
  generatorString: `0843506163653235350850617373776f72646d${"00".repeat(109)}180b415f696e69746961746f720b425f726573706f6e646572107e4b4791d6a8ef019b936c79fb7f2c57`,
  generatorHash: "03998087bdb1a2617bbe25ef5a7c18cd4f84f902328701790958755ee4aed1d3",
  g: "d04bf6d41f6a289632a2e929fa29bebd51092512a7829fdde7d314b62f05a73f",
  ya: "21b4f4bd9e64ed355c3eb676a28ebedaf6d8f17bdc365995b319097153044080",
  ADa: "414461",
  Ya: "1d13c89278cdadd826f6d8d7f887701430f8380ddc17611cdd6dc989ce0c9f32",
  yb: "848b0779ff415f0af4ea14df9dd1d3c29ac41d836c7808896c4eba19c51ac40a",
  ADb: "414462",
  Yb: "248cccf6d5cdc3646f0ad593f9e6cef4e69d4945f8372e623512ecea32185623",
  K: "5b067effbdc0b2a0e1d907b21ebb25cfedb96a852179a847c37e43ee71322c6b",
  ISK_IR:
    "6e19b875f7a561d6b3ca3dbb9ef42ac55de3e717881018204b8922b4d5e53bb2aa82c300bea7b65d2b671da71922ddf6472301b79bc270adfa8bf413285f2263",
};

// draft-irtf-cfrg-cpace-21 Appendix B.1.10: G_X25519.scalar_mult_vfy(s, uX) = qX for low-order points and
// non-canonical encodings (bit 255 set). q = all zero is the abort case (G.I).
const LOW_ORDER_SCALAR = "af46e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449aff";
const LOW_ORDER = [
  ["0000000000000000000000000000000000000000000000000000000000000000", "0000000000000000000000000000000000000000000000000000000000000000"],
  ["0100000000000000000000000000000000000000000000000000000000000000", "0000000000000000000000000000000000000000000000000000000000000000"],
  ["ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "0000000000000000000000000000000000000000000000000000000000000000"],
  ["e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", "0000000000000000000000000000000000000000000000000000000000000000"],
  ["5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", "0000000000000000000000000000000000000000000000000000000000000000"],
  ["edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "0000000000000000000000000000000000000000000000000000000000000000"],
  ["daffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "d8e2c776bbacd510d09fd9278b7edcd25fc5ae9adfba3b6e040e8d3b71b21806"],
  ["eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "0000000000000000000000000000000000000000000000000000000000000000"],
  ["dbffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "c85c655ebe8be44ba9c0ffde69f2fe10194458d137f09bbff725ce58803cdb38"],
  ["d9ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "db64dafa9b8fdd136914e61461935fe92aa372cb056314e1231bc4ec12417456"],
  ["cdeb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880", "e062dcd5376d58297be2618c7498f55baa07d7e03184e8aada20bca28888bf7a"],
  ["4c9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7", "993c6ad11c4c29da9a56f7691fd0ff8d732e49de6250b6c2e80003ff4629a175"],
].map(([u, q], i) => ({ name: `u${i.toString(16)}`, u, q }));

// RFC 9380 Appendix J.4.1 (curve25519_XMD:SHA-512_ELL2_RO_: u[0] -> Q0.x, u[1] -> Q1.x) and J.4.2
// (curve25519_XMD:SHA-512_ELL2_NU_: u[0] -> Q.x), Q = map_to_curve(u) before clear_cofactor. Field
// elements as the RFC prints them: big-endian hex integers.
const ELLIGATOR2 = [
  {
    suite: "RO msg=''",
    u: "005fe8a7b8fef0a16c105e6cadf5a6740b3365e18692a9c05bfbb4d97f645a6a",
    x: "36b4df0c864c64707cbf6cf36e9ee2c09a6cb93b28313c169be29561bb904f98",
  },
  {
    suite: "RO msg=''",
    u: "1347edbec6a2b5d8c02e058819819bee177077c9d10a4ce165aab0fd0252261a",
    x: "3fa114783a505c0b2b2fbeef0102853c0b494e7757f2a089d0daae7ed9a0db2b",
  },
  {
    suite: "RO msg=abc",
    u: "49bed021c7a3748f09fa8cdfcac044089f7829d3531066ac9e74e0994e05bc7d",
    x: "16b3d86e056b7970fa00165f6f48d90b619ad618791661b7b5e1ec78be10eac1",
  },
  {
    suite: "RO msg=abc",
    u: "5c36525b663e63389d886105cee7ed712325d5a97e60e140aba7e2ce5ae851b6",
    x: "7ec29ddbf34539c40adfa98fcb39ec36368f47f30e8f888cc7e86f4d46e0c264",
  },
  {
    suite: "RO msg=abcdef0123456789",
    u: "6412b7485ba26d3d1b6c290a8e1435b2959f03721874939b21782df17323d160",
    x: "71de3dadfe268872326c35ac512164850860567aea0e7325e6b91a98f86533ad",
  },
  {
    suite: "RO msg=abcdef0123456789",
    u: "24c7b46c1c6d9a21d32f5707be1380ab82db1054fde82865d5c9e3d968f287b2",
    x: "5704069021f61e41779e2ba6b932268316d6d2a6f064f997a22fef16d1eaeaca",
  },
  {
    suite: "RO msg=q128_...",
    u: "5e123990f11bbb5586613ffabdb58d47f64bb5f2fa115f8ea8df0188e0c9e1b5",
    x: "7a94d45a198fb5daa381f45f2619ab279744efdd8bd8ed587fc5b65d6cea1df0",
  },
  {
    suite: "RO msg=q128_...",
    u: "5e8553eb00438a0bb1e7faa59dec6d8087f9c8011e5fb8ed9df31cb6c0d4ac19",
    x: "30506fb7a32136694abd61b6113770270debe593027a968a01f271e146e60c18",
  },
  {
    suite: "RO msg=a512_...",
    u: "20f481e85da7a3bf60ac0fb11ed1d0558fc6f941b3ac5469aa8b56ec883d6d7d",
    x: "02d606e2699b918ee36f2818f2bc5013e437e673c9f9b9cdc15fd0c5ee913970",
  },
  {
    suite: "RO msg=a512_...",
    u: "017d57fd257e9a78913999a23b52ca988157a81b09c5442501d07fed20869465",
    x: "38920e9b988d1ab7449c0fa9a6058192c0c797bb3d42ac345724341a1aa98745",
  },
  {
    suite: "NU msg=''",
    u: "608d892b641f0328523802a6603427c26e55e6f27e71a91a478148d45b5093cd",
    x: "51125222da5e763d97f3c10fcc92ea6860b9ccbbd2eb1285728f566721c1e65b",
  },
  {
    suite: "NU msg=abc",
    u: "46f5b22494bfeaa7f232cc8d054be68561af50230234d7d1d63d1d9abeca8da5",
    x: "7d56d1e08cb0ccb92baf069c18c49bb5a0dcd927eff8dcf75ca921ef7f3e6eeb",
  },
  {
    suite: "NU msg=abcdef0123456789",
    u: "235fe40c443766ce7e18111c33862d66c3b33267efa50d50f9e8e5d252a40aaa",
    x: "3fbe66b9c9883d79e8407150e7c2a1c8680bee496c62fabe4619a72b3cabe90f",
  },
  {
    suite: "NU msg=q128_...",
    u: "001e92a544463bda9bd04ddbe3d6eed248f82de32f522669efc5ddce95f46f5b",
    x: "227e0bb89de700385d19ec40e857db6e6a3e634b1c32962f370d26f84ff19683",
  },
  {
    suite: "NU msg=a512_...",
    u: "1a68a1af9f663592291af987203393f707305c7bac9c8d63d6a729bdc553dc19",
    x: "3bcd651ee54d5f7b6013898aab251ee8ecc0688166fce6e9548d38472f6bd196",
  },
];

/** A big-endian hex integer as 32 little-endian bytes (RFC 7748 encodeUCoordinate). */
const le = (bigEndianHex: string): Uint8Array => fromHex(bigEndianHex).reverse();
const h = fromHex;

describe("draft-irtf-cfrg-cpace-21 string functions (Appendix A) in the bank", () => {
  it("prepend_len and lv_cat (A.1.2, A.1.4)", () => {
    expect(hex(prependLen(new Uint8Array(0)))).toBe("00");
    expect(hex(prependLen(ascii("1234")))).toBe("0431323334");
    expect(hex(prependLen(Uint8Array.from({ length: 127 }, (_, i) => i)))).toBe(`7f${hex(Uint8Array.from({ length: 127 }, (_, i) => i))}`);
    expect(hex(prependLen(Uint8Array.from({ length: 128 }, (_, i) => i)))).toBe(
      `8001${hex(Uint8Array.from({ length: 128 }, (_, i) => i))}`,
    );
    expect(hex(lvCat(ascii("1234"), ascii("5"), ascii(""), ascii("678")))).toBe("043132333401350003363738");
  });

  it("generator_string and its hash (B.1.1)", () => {
    const string = generatorString(h(CPACE.PRS), h(CPACE.CI), h(CPACE.sid));
    expect(string.length).toBe(170);
    expect(hex(string)).toBe(CPACE.generatorString);
    expect(createHash("sha512").update(string).digest("hex").slice(0, 64)).toBe(CPACE.generatorHash);
  });
});

describe("CPACE-X25519-SHA512 (draft-irtf-cfrg-cpace-21 Appendix B.1)", () => {
  describe.each(CORE_BUILDS)("in the firmware's crypto, %s build", (build) => {
    it("calculate_generator, both shares, K both ways, ISK (initiator-responder)", () => {
      const g = cpaceGenerator(h(CPACE.PRS), h(CPACE.CI), h(CPACE.sid), build);
      expect(hex(g)).toBe(CPACE.g);
      expect(hex(x25519(h(CPACE.ya), g, build))).toBe(CPACE.Ya);
      expect(hex(x25519(h(CPACE.yb), g, build))).toBe(CPACE.Yb);
      expect(hex(x25519(h(CPACE.ya), h(CPACE.Yb), build))).toBe(CPACE.K);
      expect(hex(x25519(h(CPACE.yb), h(CPACE.Ya), build))).toBe(CPACE.K);
      const isk = cpaceIsk(
        { sid: h(CPACE.sid), K: h(CPACE.K), Ya: h(CPACE.Ya), ADa: h(CPACE.ADa), Yb: h(CPACE.Yb), ADb: h(CPACE.ADb) },
        build,
      );
      expect(hex(isk)).toBe(CPACE.ISK_IR);
    });

    it.each(LOW_ORDER)("scalar_mult_vfy(s, $name) (B.1.10)", ({ u, q }) => {
      const result = x25519(h(LOW_ORDER_SCALAR), h(u), build);
      expect(hex(result)).toBe(q);
      expect(isAllZero(result, build)).toBe(/^0+$/.test(q));
    });

    it.each(ELLIGATOR2)("Elligator 2, RFC 9380 $suite", ({ u, x }) => {
      expect(hex(elligator2(le(u), build))).toBe(hex(le(x)));
    });

    it("refuses strings a one-byte length cannot carry, and offsets outside its I/O buffer", () => {
      expect(() => cpaceGenerator(new Uint8Array(128), h(CPACE.CI), h(CPACE.sid), build)).toThrow(/at most 127 bytes/);
      const e = kdfInstance(build).exports as KdfExports;
      expect(e.cpaceGenerator(0, 64, 128, 200, 10, 300, 16)).toBe(-2);
      expect(e.cpaceIsk(0, 100, 16, 200, 300, 400, 3, 500, 600, 128)).toBe(-2);
      expect(e.elligator2(0, 16384 - 31)).toBe(-2);
    });
  });

  describe("in the tests' own reference (bigint Elligator 2, OpenSSL X25519)", () => {
    it("calculate_generator and both shares", () => {
      const g = referenceGenerator(h(CPACE.PRS), h(CPACE.CI), h(CPACE.sid));
      expect(hex(g)).toBe(CPACE.g);
      expect(hex(referenceX25519(h(CPACE.ya), g))).toBe(CPACE.Ya);
      expect(hex(referenceX25519(h(CPACE.yb), h(CPACE.Ya)))).toBe(CPACE.K);
    });

    it.each(ELLIGATOR2)("Elligator 2, RFC 9380 $suite", ({ u, x }) => {
      expect(hex(referenceElligator2(le(u)))).toBe(hex(le(x)));
    });
  });

  describe("in the bank (@noble/curves, node:crypto)", () => {
    it("calculate_generator, both shares, K both ways, ISK (initiator-responder)", () => {
      const g = calculateGenerator(h(CPACE.PRS), h(CPACE.CI), h(CPACE.sid));
      expect(hex(g)).toBe(CPACE.g);
      expect(hex(scalarMultVfy(h(CPACE.ya), g))).toBe(CPACE.Ya);
      expect(hex(scalarMultVfy(h(CPACE.yb), g))).toBe(CPACE.Yb);
      expect(hex(scalarMultVfy(h(CPACE.ya), h(CPACE.Yb)))).toBe(CPACE.K);
      expect(hex(scalarMultVfy(h(CPACE.yb), h(CPACE.Ya)))).toBe(CPACE.K);
      expect(hex(intermediateSessionKey(h(CPACE.sid), h(CPACE.K), h(CPACE.Ya), h(CPACE.ADa), h(CPACE.Yb), h(CPACE.ADb)))).toBe(
        CPACE.ISK_IR,
      );
    });

    it.each(LOW_ORDER)("scalar_mult_vfy(s, $name) (B.1.10): G.I is an abort", ({ u, q }) => {
      if (/^0+$/.test(q)) expect(() => scalarMultVfy(h(LOW_ORDER_SCALAR), h(u))).toThrow(ProtocolError);
      else expect(hex(scalarMultVfy(h(LOW_ORDER_SCALAR), h(u)))).toBe(q);
    });

    it.each(ELLIGATOR2)("Elligator 2, RFC 9380 $suite", ({ u, x }) => {
      expect(hex(bankElligator2(le(u)))).toBe(hex(le(x)));
    });
  });
});

describe("Elligator 2: firmware, bank and a bigint reference of RFC 9380 §6.7.1 agree", () => {
  const P = 2n ** 255n - 19n;
  const special = [0n, 1n, 2n, P - 1n, P, P + 1n, 2n ** 255n - 1n, 2n ** 256n - 1n].map((n) => le(n.toString(16).padStart(64, "0")));

  it("on special and random field elements, canonical or not, bit 255 set or not", () => {
    const random = testRandom();
    const inputs = [...special, ...Array.from({ length: 60 }, () => new Uint8Array(random.bytes(32)))];
    for (const input of inputs) {
      const expected = hex(referenceElligator2(input));
      expect(hex(bankElligator2(input)), hex(input)).toBe(expected);
      for (const build of CORE_BUILDS) expect(hex(elligator2(input, build)), `${build} ${hex(input)}`).toBe(expected);
    }
  });

  it("the generator of random passwords, CIs and sids", () => {
    const random = testRandom();
    for (let i = 0; i < 20; i++) {
      const prs = random.bytes(1 + (i % 8));
      const ci = random.bytes(56);
      const sid = random.bytes(16);
      const expected = hex(calculateGenerator(prs, ci, sid));
      for (const build of CORE_BUILDS) expect(hex(cpaceGenerator(prs, ci, sid, build)), build).toBe(expected);
    }
  });
});
