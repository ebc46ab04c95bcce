/*
 * Unit tests for hostlib/src/signature.c: issuer signatures, r || s encoded,
 * ECDSA P-256/SHA-256 for the AES suite and SM2/SM3 with the distinguishing
 * ID "1234567812345678" for the SM suite, and ocp_verify_public on top.
 *
 * ECDSA is checked against published vectors, copied as published (each
 * table says from where):
 *   - NIST CAVP, FIPS 186-4 ECDSA test vectors (186-4ecdsatestvectors.zip),
 *     SigVer.rsp, section [P-256,SHA-256]: all 15 records;
 *   - Project Wycheproof, testvectors/ecdsa_secp256r1_sha256_test.json
 *     (C2SP/wycheproof, "0.8r12"): the DER signatures are converted to r || s;
 *     cases whose DER is malformed, or whose r or s is negative or wider
 *     than 32 bytes, cannot be written as r || s and are left out.
 *
 * SM2 has no vector set of that kind.  The standard's own examples are used
 * instead, through a deliberately naive implementation of GB/T 32918.2
 * written here from the standard (Z, e, and the verification equation with
 * plain EC_POINT arithmetic on an explicitly built curve):
 *   - GB/T 32918.2-2016 / GM/T 0003.2-2012 annex A.2, on the annex's test
 *     curve over Fp-256 with ID "ALICE123@YAHOO.COM".  OpenSSL 3.0 cannot
 *     load an SM2 key on an explicit, non-standard curve through EVP (the
 *     SM2 key manager refuses it), so this one checks the naive code: the
 *     published public key, Z_A, e and (r, s) are all reproduced;
 *   - GB/T 32918.5-2016 / GM/T 0003.5-2012 annex A.2, on the recommended
 *     curve with ID "1234567812345678", which is our ID: fed to hl_verify;
 *   - and a differential test between the two on the recommended curve:
 *     hl_sign output verifies under the naive code with our ID (and not with
 *     another), so OpenSSL's SM2 path computes Z with the ID we think it does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "test_hex.h"
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include "ocp/issue.h"
#include "ocp_wire.h"
#include "signature.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */


static BIGNUM *bn_hex(const char *hex)
{
    BIGNUM *b = NULL;
    assert_int_equal(BN_hex2bn(&b, hex), (int)strlen(hex));
    return b;
}

static void flip_bit(uint8_t *p, size_t bit)
{
    p[bit / 8u] = (uint8_t)(p[bit / 8u] ^ (1u << (bit % 8u)));
}

/* A public key of the given type on a named group from an encoded point. */
static EVP_PKEY *key_from_point(const char *type, const char *group,
                                const uint8_t *point, size_t point_len)
{
    char group_buf[32];
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *key = NULL;

    assert_true(strlen(group) < sizeof group_buf);
    strcpy(group_buf, group);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                 group_buf, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                  (void *)point, point_len);
    params[2] = OSSL_PARAM_construct_end();
    assert_non_null(ctx);
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params),
                     1);
    EVP_PKEY_CTX_free(ctx);
    assert_non_null(key);
    return key;
}

/* P-256 public key from the uncompressed point 04 || X || Y, in hex. */
static EVP_PKEY *p256_key_hex(const char *uncompressed)
{
    uint8_t pt[65];
    assert_int_equal(unhex(uncompressed, pt, sizeof pt), sizeof pt);
    assert_int_equal(pt[0], 0x04);
    return key_from_point("EC", "prime256v1", pt, sizeof pt);
}

/* P-256 public key from the coordinates (Qx, Qy), in hex. */
static EVP_PKEY *p256_key_xy(const char *qx, const char *qy)
{
    uint8_t pt[65];
    pt[0] = 0x04;
    assert_int_equal(unhex(qx, pt + 1, 32), 32);
    assert_int_equal(unhex(qy, pt + 33, 32), 32);
    return key_from_point("EC", "prime256v1", pt, sizeof pt);
}

/* Reads one DER INTEGER as a non-negative value of at most 32 bytes, left
 * padded into out.  Returns 0 for anything r || s cannot represent. */
static int der_uint256(const uint8_t **pp, const uint8_t *end, uint8_t out[32])
{
    const uint8_t *p = *pp;
    size_t len;

    if ((size_t)(end - p) < 2 || p[0] != 0x02 || p[1] > 0x7f)
        return 0;
    len = p[1];
    p += 2;
    if (len == 0 || (size_t)(end - p) < len || (p[0] & 0x80) != 0)
        return 0;
    if (len > 1 && p[0] == 0 && (p[1] & 0x80) == 0)
        return 0; /* not minimal */
    *pp = p + len;
    while (len > 0 && *p == 0) {
        p++;
        len--;
    }
    if (len > 32)
        return 0;
    memset(out, 0, 32);
    memcpy(out + 32 - len, p, len);
    return 1;
}

/* DER SEQUENCE { INTEGER r, INTEGER s } (short lengths) to r || s. */
static int der_sig_to_rs(const uint8_t *der, size_t der_len, uint8_t rs[64])
{
    const uint8_t *p = der + 2, *end = der + der_len;
    if (der_len < 2 || der[0] != 0x30 || der[1] > 0x7f ||
        (size_t)der[1] != der_len - 2)
        return 0;
    return der_uint256(&p, end, rs) && der_uint256(&p, end, rs + 32) &&
           p == end;
}

/* A valid signature must stop verifying when any bit of r || s or of the
 * message changes.  Flips one bit in every byte of the signature (a
 * different bit each time) and the first and last bit of the message. */
static void check_mutations(EVP_PKEY *key, uint8_t suite, const uint8_t *msg,
                            size_t msg_len, const uint8_t rs[64],
                            const char *label)
{
    uint8_t sig[64], m[256];
    size_t i;

    assert_true(msg_len > 0 && msg_len <= sizeof m);
    for (i = 0; i < 64; i++) {
        memcpy(sig, rs, 64);
        flip_bit(sig, 8u * i + (i % 8u));
        if (hl_verify(key, suite, msg, msg_len, sig) != OCP_E_SIGNATURE)
            fail_msg("%s: signature byte %zu changed, still verifies", label,
                     i);
    }
    memcpy(m, msg, msg_len);
    flip_bit(m, 0);
    if (hl_verify(key, suite, m, msg_len, rs) != OCP_E_SIGNATURE)
        fail_msg("%s: message bit 0 changed, still verifies", label);
    memcpy(m, msg, msg_len);
    flip_bit(m, 8u * msg_len - 1u);
    if (hl_verify(key, suite, m, msg_len, rs) != OCP_E_SIGNATURE)
        fail_msg("%s: last message bit changed, still verifies", label);
    if (msg_len > 1 &&
        hl_verify(key, suite, msg, msg_len - 1u, rs) != OCP_E_SIGNATURE)
        fail_msg("%s: message truncated, still verifies", label);
}

/* ------------------------------------------------------------------------ */
/* ECDSA P-256 / SHA-256: NIST CAVP                                         */

/*
 * NIST CAVP, FIPS 186-4 ECDSA test vectors, 186-4ecdsatestvectors.zip,
 * SigVer.rsp, section [P-256,SHA-256] ("CAVS 11.0 SigVer"): the section's
 * 15 records in file order (the file numbers none of them; "record" is the
 * 1-based position in the section), with Result as published.
 */
struct cavp_case {
    int record;
    const char *msg, *qx, *qy, *r, *s;
    const char *result; /* "P (0 )" or "F (n - what changed)" */
};

static const struct cavp_case cavp_sigver[] = {
    {1,
     "e4796db5f785f207aa30d311693b3702821dff1168fd2e04c0836825aefd850d"
     "9aa60326d88cde1a23c7745351392ca2288d632c264f197d05cd424a30336c19"
     "fd09bb229654f0222fcb881a4b35c290a093ac159ce13409111ff0358411133c"
     "24f5b8e2090d6db6558afc36f06ca1f6ef779785adba68db27a409859fc4c4a0",
     "87f8f2b218f49845f6f10eec3877136269f5c1a54736dbdf69f89940cad41555",
     "e15f369036f49842fac7a86c8a2b0557609776814448b8f5e84aa9f4395205e9",
     "d19ff48b324915576416097d2544f7cbdf8768b1454ad20e0baac50e211f23b0",
     "a3e81e59311cdfff2d4784949f7a2cb50ba6c3a91fa54710568e61aca3e847c6",
     "F (3 - S changed)"},
    {2,
     "069a6e6b93dfee6df6ef6997cd80dd2182c36653cef10c655d524585655462d6"
     "83877f95ecc6d6c81623d8fac4e900ed0019964094e7de91f1481989ae187300"
     "4565789cbf5dc56c62aedc63f62f3b894c9c6f7788c8ecaadc9bd0e81ad91b2b"
     "3569ea12260e93924fdddd3972af5273198f5efda0746219475017557616170e",
     "5cf02a00d205bdfee2016f7421807fc38ae69e6b7ccd064ee689fc1a94a9f7d2",
     "ec530ce3cc5c9d1af463f264d685afe2b4db4b5828d7e61b748930f3ce622a85",
     "dc23d130c6117fb5751201455e99f36f59aba1a6a21cf2d0e7481a97451d6693",
     "d6ce7708c18dbf35d4f8aa7240922dc6823f2e7058cbc1484fcad1599db5018c",
     "F (2 - R changed)"},
    {3,
     "df04a346cf4d0e331a6db78cca2d456d31b0a000aa51441defdb97bbeb20b94d"
     "8d746429a393ba88840d661615e07def615a342abedfa4ce912e562af7149598"
     "96858af817317a840dcff85a057bb91a3c2bf90105500362754a6dd321cdd861"
     "28cfc5f04667b57aa78c112411e42da304f1012d48cd6a7052d7de44ebcc01de",
     "2ddfd145767883ffbb0ac003ab4a44346d08fa2570b3120dcce94562422244cb",
     "5f70c7d11ac2b7a435ccfbbae02c3df1ea6b532cc0e9db74f93fffca7c6f9a64",
     "9913111cff6f20c5bf453a99cd2c2019a4e749a49724a08774d14e4c113edda8",
     "9467cd4cd21ecb56b0cab0a9a453b43386845459127a952421f5c6382866c5cc",
     "F (4 - Q changed)"},
    {4,
     "e1130af6a38ccb412a9c8d13e15dbfc9e69a16385af3c3f1e5da954fd5e7c45f"
     "d75e2b8c36699228e92840c0562fbf3772f07e17f1add56588dd45f7450e1217"
     "ad239922dd9c32695dc71ff2424ca0dec1321aa47064a044b7fe3c2b97d03ce4"
     "70a592304c5ef21eed9f93da56bb232d1eeb0035f9bf0dfafdcc4606272b20a3",
     "e424dc61d4bb3cb7ef4344a7f8957a0c5134e16f7a67c074f82e6e12f49abf3c",
     "970eed7aa2bc48651545949de1dddaf0127e5965ac85d1243d6f60e7dfaee927",
     "bf96b99aa49c705c910be33142017c642ff540c76349b9dab72f981fd9347f4f",
     "17c55095819089c2e03b9cd415abdf12444e323075d98f31920b9e0f57ec871c",
     "P (0 )"},
    {5,
     "73c5f6a67456ae48209b5f85d1e7de7758bf235300c6ae2bdceb1dcb27a7730f"
     "b68c950b7fcada0ecc4661d3578230f225a875e69aaa17f1e71c6be5c831f226"
     "63bac63d0c7a9635edb0043ff8c6f26470f02a7bc56556f1437f06dfa27b487a"
     "6c4290d8bad38d4879b334e341ba092dde4e4ae694a9c09302e2dbf443581c08",
     "e0fc6a6f50e1c57475673ee54e3a57f9a49f3328e743bf52f335e3eeaa3d2864",
     "7f59d689c91e463607d9194d99faf316e25432870816dde63f5d4b373f12f22a",
     "1d75830cd36f4c9aa181b2c4221e87f176b7f05b7c87824e82e396c88315c407",
     "cb2acb01dac96efc53a32d4a0d85d0c2e48955214783ecf50a4f0414a319c05a",
     "P (0 )"},
    {6,
     "666036d9b4a2426ed6585a4e0fd931a8761451d29ab04bd7dc6d0c5b9e38e6c2"
     "b263ff6cb837bd04399de3d757c6c7005f6d7a987063cf6d7e8cb38a4bf0d74a"
     "282572bd01d0f41e3fd066e3021575f0fa04f27b700d5b7ddddf50965993c3f9"
     "c7118ed78888da7cb221849b3260592b8e632d7c51e935a0ceae15207bedd548",
     "a849bef575cac3c6920fbce675c3b787136209f855de19ffe2e8d29b31a5ad86",
     "bf5fe4f7858f9b805bd8dcc05ad5e7fb889de2f822f3d8b41694e6c55c16b471",
     "25acc3aa9d9e84c7abf08f73fa4195acc506491d6fc37cb9074528a7db87b9d6",
     "9b21d5b5259ed3f2ef07dfec6cc90d3a37855d1ce122a85ba6a333f307d31537",
     "F (2 - R changed)"},
    {7,
     "7e80436bce57339ce8da1b5660149a20240b146d108deef3ec5da4ae256f8f89"
     "4edcbbc57b34ce37089c0daa17f0c46cd82b5a1599314fd79d2fd2f446bd5a25"
     "b8e32fcf05b76d644573a6df4ad1dfea707b479d97237a346f1ec632ea5660ef"
     "b57e8717a8628d7f82af50a4e84b11f21bdff6839196a880ae20b2a0918d58cd",
     "3dfb6f40f2471b29b77fdccba72d37c21bba019efa40c1c8f91ec405d7dcc5df",
     "f22f953f1e395a52ead7f3ae3fc47451b438117b1e04d613bc8555b7d6e6d1bb",
     "548886278e5ec26bed811dbb72db1e154b6f17be70deb1b210107decb1ec2a5a",
     "e93bfebd2f14f3d827ca32b464be6e69187f5edbd52def4f96599c37d58eee75",
     "F (4 - Q changed)"},
    {8,
     "1669bfb657fdc62c3ddd63269787fc1c969f1850fb04c933dda063ef74a56ce1"
     "3e3a649700820f0061efabf849a85d474326c8a541d99830eea8131eaea584f2"
     "2d88c353965dabcdc4bf6b55949fd529507dfb803ab6b480cd73ca0ba00ca19c"
     "438849e2cea262a1c57d8f81cd257fb58e19dec7904da97d8386e87b84948169",
     "69b7667056e1e11d6caf6e45643f8b21e7a4bebda463c7fdbc13bc98efbd0214",
     "d3f9b12eb46c7c6fda0da3fc85bc1fd831557f9abc902a3be3cb3e8be7d1aa2f",
     "288f7a1cd391842cce21f00e6f15471c04dc182fe4b14d92dc18910879799790",
     "247b3c4e89a3bcadfea73c7bfd361def43715fa382b8c3edf4ae15d6e55e9979",
     "F (1 - Message changed)"},
    {9,
     "3fe60dd9ad6caccf5a6f583b3ae65953563446c4510b70da115ffaa0ba04c076"
     "115c7043ab8733403cd69c7d14c212c655c07b43a7c71b9a4cffe22c2684788e"
     "c6870dc2013f269172c822256f9e7cc674791bf2d8486c0f5684283e1649576e"
     "fc982ede17c7b74b214754d70402fb4bb45ad086cf2cf76b3d63f7fce39ac970",
     "bf02cbcf6d8cc26e91766d8af0b164fc5968535e84c158eb3bc4e2d79c3cc682",
     "069ba6cb06b49d60812066afa16ecf7b51352f2c03bd93ec220822b1f3dfba03",
     "f5acb06c59c2b4927fb852faa07faf4b1852bbb5d06840935e849c4d293d1bad",
     "049dab79c89cc02f1484c437f523e080a75f134917fda752f2d5ca397addfe5d",
     "F (3 - S changed)"},
    {10,
     "983a71b9994d95e876d84d28946a041f8f0a3f544cfcc055496580f1dfd4e312"
     "a2ad418fe69dbc61db230cc0c0ed97e360abab7d6ff4b81ee970a7e97466acfd"
     "9644f828ffec538abc383d0e92326d1c88c55e1f46a668a039beaa1be631a891"
     "29938c00a81a3ae46d4aecbf9707f764dbaccea3ef7665e4c4307fa0b0a3075c",
     "224a4d65b958f6d6afb2904863efd2a734b31798884801fcab5a590f4d6da9de",
     "178d51fddada62806f097aa615d33b8f2404e6b1479f5fd4859d595734d6d2b9",
     "87b93ee2fecfda54deb8dff8e426f3c72c8864991f8ec2b3205bb3b416de93d2",
     "4044a24df85be0cc76f21a4430b75b8e77b932a87f51e4eccbc45c263ebf8f66",
     "F (2 - R changed)"},
    {11,
     "4a8c071ac4fd0d52faa407b0fe5dab759f7394a5832127f2a3498f34aac28733"
     "9e043b4ffa79528faf199dc917f7b066ad65505dab0e11e6948515052ce20cfd"
     "b892ffb8aa9bf3f1aa5be30a5bbe85823bddf70b39fd7ebd4a93a2f75472c1d4"
     "f606247a9821f1a8c45a6cb80545de2e0c6c0174e2392088c754e9c8443eb5af",
     "43691c7795a57ead8c5c68536fe934538d46f12889680a9cb6d055a066228369",
     "f8790110b3c3b281aa1eae037d4f1234aff587d903d93ba3af225c27ddc9ccac",
     "8acd62e8c262fa50dd9840480969f4ef70f218ebf8ef9584f199031132c6b1ce",
     "cfca7ed3d4347fb2a29e526b43c348ae1ce6c60d44f3191b6d8ea3a2d9c92154",
     "F (3 - S changed)"},
    {12,
     "0a3a12c3084c865daf1d302c78215d39bfe0b8bf28272b3c0b74beb4b7409db0"
     "718239de700785581514321c6440a4bbaea4c76fa47401e151e68cb6c29017f0"
     "bce4631290af5ea5e2bf3ed742ae110b04ade83a5dbd7358f29a85938e23d87a"
     "c8233072b79c94670ff0959f9c7f4517862ff829452096c78f5f2e9a7e4e9216",
     "9157dbfcf8cf385f5bb1568ad5c6e2a8652ba6dfc63bc1753edf5268cb7eb596",
     "972570f4313d47fc96f7c02d5594d77d46f91e949808825b3d31f029e8296405",
     "dfaea6f297fa320b707866125c2a7d5d515b51a503bee817de9faa343cc48eeb",
     "8f780ad713f9c3e5a4f7fa4c519833dfefc6a7432389b1e4af463961f09764f2",
     "F (1 - Message changed)"},
    {13,
     "785d07a3c54f63dca11f5d1a5f496ee2c2f9288e55007e666c78b007d95cc285"
     "81dce51f490b30fa73dc9e2d45d075d7e3a95fb8a9e1465ad191904124160b7c"
     "60fa720ef4ef1c5d2998f40570ae2a870ef3e894c2bc617d8a1dc85c3c557749"
     "28c38789b4e661349d3f84d2441a3b856a76949b9f1f80bc161648a1cad5588e",
     "072b10c081a4c1713a294f248aef850e297991aca47fa96a7470abe3b8acfdda",
     "9581145cca04a0fb94cedce752c8f0370861916d2a94e7c647c5373ce6a4c8f5",
     "09f5483eccec80f9d104815a1be9cc1a8e5b12b6eb482a65c6907b7480cf4f19",
     "a4f90e560c5e4eb8696cb276e5165b6a9d486345dedfb094a76e8442d026378d",
     "F (4 - Q changed)"},
    {14,
     "76f987ec5448dd72219bd30bf6b66b0775c80b394851a43ff1f537f140a6e722"
     "9ef8cd72ad58b1d2d20298539d6347dd5598812bc65323aceaf05228f738b5ad"
     "3e8d9fe4100fd767c2f098c77cb99c2992843ba3eed91d32444f3b6db6cd212d"
     "d4e5609548f4bb62812a920f6e2bf1581be1ebeebdd06ec4e971862cc42055ca",
     "09308ea5bfad6e5adf408634b3d5ce9240d35442f7fe116452aaec0d25be8c24",
     "f40c93e023ef494b1c3079b2d10ef67f3170740495ce2cc57f8ee4b0618b8ee5",
     "5cc8aa7c35743ec0c23dde88dabd5e4fcd0192d2116f6926fef788cddb754e73",
     "9c9c045ebaa1b828c32f82ace0d18daebf5e156eb7cbfdc1eff4399a8a900ae7",
     "F (1 - Message changed)"},
    {15,
     "60cd64b2cd2be6c33859b94875120361a24085f3765cb8b2bf11e026fa9d8855"
     "dbe435acf7882e84f3c7857f96e2baab4d9afe4588e4a82e17a78827bfdb5ddb"
     "d1c211fbc2e6d884cddd7cb9d90d5bf4a7311b83f352508033812c776a0e00c0"
     "03c7e0d628e50736c7512df0acfa9f2320bd102229f46495ae6d0857cc452a84",
     "2d98ea01f754d34bbc3003df5050200abf445ec728556d7ed7d5c54c55552b6d",
     "9b52672742d637a32add056dfd6d8792f2a33c2e69dafabea09b960bc61e230a",
     "06108e525f845d0155bf60193222b3219c98e3d49424c2fb2a0987f825c17959",
     "62b5cdd591e5b507e560167ba8f6f7cda74673eb315680cb89ccbc4eec477dce",
     "P (0 )"},
};

static void test_ecdsa_cavp_sigver(void **state)
{
    size_t i, n_valid = 0, n_invalid = 0;
    (void)state;
    for (i = 0; i < sizeof cavp_sigver / sizeof cavp_sigver[0]; i++) {
        const struct cavp_case *c = &cavp_sigver[i];
        uint8_t msg[128], rs[64];
        size_t msg_len = unhex(c->msg, msg, sizeof msg);
        int valid = c->result[0] == 'P';
        EVP_PKEY *key;
        ocp_status st;
        char label[64];

        assert_int_equal(msg_len, 128);
        assert_int_equal(unhex(c->r, rs, 32), 32);
        assert_int_equal(unhex(c->s, rs + 32, 32), 32);
        /* Every record's Q is a valid point, even where "Q changed". */
        key = p256_key_xy(c->qx, c->qy);
        st = hl_verify(key, OCP_SUITE_AES, msg, msg_len, rs);
        if (st != (valid ? OCP_OK : OCP_E_SIGNATURE))
            fail_msg("SigVer.rsp [P-256,SHA-256] record %d, Result = %s: "
                     "hl_verify returned %d", c->record, c->result, (int)st);
        if (valid) {
            snprintf(label, sizeof label, "SigVer record %d", c->record);
            check_mutations(key, OCP_SUITE_AES, msg, msg_len, rs, label);
            n_valid++;
        } else {
            n_invalid++;
        }
        EVP_PKEY_free(key);
    }
    assert_int_equal(n_valid, 3);
    assert_int_equal(n_invalid, 12);
}

/* ------------------------------------------------------------------------ */
/* ECDSA P-256 / SHA-256: Wycheproof                                        */

/*
 * Project Wycheproof, testvectors/ecdsa_secp256r1_sha256_test.json
 * (C2SP/wycheproof, source "google-wycheproof" version "0.8r12"), each case
 * named by its tcId and comment; keys are the "uncompressed" field of the
 * case's test group.  Message and DER signature are as published.
 */
static const char wp_key_main[] = /* group of tcId 1..284 */
    "042927b10512bae3eddcfe467828128bad2903269919f7086069c8c4df6c732838"
    "c7787964eaac00e5921fb1498a60f4606766b3d9685001558d1a974e7341513e";
static const char wp_key_285[] =
    "040ad99500288d466940031d72a9f5445a4d43784640855bf0a69874d2de5fe103"
    "c5011e6ef2c42dcd50d5d3d29f99ae6eba2c80c9244f4c5422f0979ff0c3ba5e";
static const char wp_key_287[] =
    "04ab05fd9d0de26b9ce6f4819652d9fc69193d0aa398f0fba8013e09c582204554"
    "19235271228c786759095d12b75af0692dd4103f19f6a8c32f49435a1e9b8d45";
static const char wp_key_288[] =
    "0480984f39a1ff38a86a68aa4201b6be5dfbfecf876219710b07badf6fdd4c6c56"
    "11feb97390d9826e7a06dfb41871c940d74415ed3cac2089f1445019bb55ed95";
static const char wp_key_290[] =
    "04a71af64de5126a4a4e02b7922d66ce9415ce88a4c9d25514d91082c8725ac957"
    "5d47723c8fbe580bb369fec9c2665d8e30a435b9932645482e7c9f11e872296b";
static const char wp_key_293[] =
    "04cbe0c29132cd738364fedd603152990c048e5e2fff996d883fa6caca7978c737"
    "70af6a8ce44cb41224b2603606f4c04d188e80bff7cc31ad5189d4ab0d70e8c1";
static const char wp_key_295[] =
    "044be4178097002f0deab68f0d9a130e0ed33a6795d02a20796db83444b037e139"
    "20f13051e0eecdcfce4dacea0f50d1f247caa669f193c1b4075b51ae296d2d56";
static const char wp_key_296[] =
    "04d0f73792203716afd4be4329faa48d269f15313ebbba379d7783c97bf3e890d9"
    "971f4a3206605bec21782bf5e275c714417e8f566549e6bc68690d2363c89cc1";
static const char wp_key_301[] =
    "04083539fbee44625e3acaafa2fcb41349392cef0633a1b8fabecee0c133b10e99"
    "915c1ebe7bf00df8535196770a58047ae2a402f26326bb7d41d4d7616337911e";
static const char wp_key_302[] =
    "048aeb368a7027a4d64abdea37390c0c1d6a26f399e2d9734de1eb3d0e19373874"
    "05bd13834715e1dbae9b875cf07bd55e1b6691c7f7536aef3b19bf7a4adf576d";
static const char wp_key_304[] =
    "04b533d4695dd5b8c5e07757e55e6e516f7e2c88fa0239e23f60e8ec07dd70f287"
    "1b134ee58cc583278456863f33c3a85d881f7d4a39850143e29d4eaf009afe47";
static const char wp_key_305[] =
    "04f50d371b91bfb1d7d14e1323523bc3aa8cbf2c57f9e284de628c8b4536787b86"
    "f94ad887ac94d527247cd2e7d0c8b1291c553c9730405380b14cbb209f5fa2dd";

#define WP_MSG "313233343030" /* "123400", the file's default message */

struct wp_case {
    int tc_id;
    const char *comment;
    const char *key, *msg, *sig;
    int valid; /* "result": "valid" (1) or "invalid" (0) */
};

static const struct wp_case wycheproof[] = {
    /* valid */
    {1, "signature malleability", wp_key_main, WP_MSG,
     "304402202ba3a8be6b94d5ec80a6d9d1190a436effe50d85a1eee859b8cc6af9bd5c"
     "2e1802204cd60b855d442f5b3c7b11eb6c4e0ae7525fe710fab9aa7c77a67f79e6fa"
     "dd76", 1},
    {3, "valid", wp_key_main, WP_MSG,
     "304502202ba3a8be6b94d5ec80a6d9d1190a436effe50d85a1eee859b8cc6af9bd5c"
     "2e18022100b329f479a2bbd0a5c384ee1493b1f5186a87139cac5df4087c134b4915"
     "6847db", 1},
    {237, "special case hash", wp_key_main, "333433363838373132",
     "30450220060b700bef665c68899d44f2356a578d126b062023ccc3c056bf0f60a237"
     "012b0221008d186c027832965f4fcc78a3366ca95dedbb410cbef3f26d6be5d581c1"
     "1d3610", 1},
    {238, "special case hash", wp_key_main, "31333531353330333730",
     "30460221009f6adfe8d5eb5b2c24d7aa7934b6cf29c93ea76cd313c9132bb0c8e38c"
     "96831d022100b26a9c9e40e55ee0890c944cf271756c906a33e66b5bd15e05159388"
     "3b5e9902", 1},
    {239, "special case hash", wp_key_main, "36353533323033313236",
     "3045022100a1af03ca91677b673ad2f33615e56174a1abf6da168cebfa8868f4ba27"
     "3f16b7022020aa73ffe48afa6435cd258b173d0c2377d69022e7d098d75caf24c8c5"
     "e06b1c", 1},
    {240, "special case hash", wp_key_main, "31353634333436363033",
     "3045022100fdc70602766f8eed11a6c99a71c973d5659355507b843da6e327a28c11"
     "893db902203df5349688a085b137b1eacf456a9e9e0f6d15ec0078ca60a7f83f2b10"
     "d21350", 1},
    {241, "special case hash", wp_key_main, "34343239353339313137",
     "3046022100b516a314f2fce530d6537f6a6c49966c23456f63c643cf8e0dc738f7b8"
     "76e675022100d39ffd033c92b6d717dd536fbc5efdf1967c4bd80954479ba66b0120"
     "cd16fff2", 1},
    {242, "special case hash", wp_key_main, "3130393533323631333531",
     "304402203b2cbf046eac45842ecb7984d475831582717bebb6492fd0a485c101e29f"
     "f0a802204c9b7b47a98b0f82de512bc9313aaf51701099cac5f76e68c8595fc1c1d9"
     "9258", 1},
    {285, "k*G has a large x-coordinate", wp_key_285, WP_MSG,
     "303502104319055358e8617b0c46353d039cdaab022100ffffffff00000000ffffff"
     "ffffffffffbce6faada7179e84f3b9cac2fc63254e", 1},
    {287, "r,s are large", wp_key_287, WP_MSG,
     "3046022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc"
     "63254f022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2"
     "fc63254e", 1},
    {288, "r and s^-1 have a large Hamming weight", wp_key_288, WP_MSG,
     "304502207ffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
     "ffffd022100909135bdb6799286170f5ead2de4f6511453fe50914f3df2de54a3638"
     "3df8dd4", 1},
    {290, "small r and s", wp_key_290, WP_MSG, "3006020105020101", 1},
    {293, "small r and s", wp_key_293, WP_MSG, "3006020105020106", 1},
    {296, "small r and s^-1", wp_key_296, WP_MSG,
     "3027020201000221008f1e3c7862c58b16bb76eddbb76eddbb516af4f63f2d74d76e"
     "0d28c9bb75ea88", 1},
    {301, "r and s^-1 are close to n", wp_key_301, WP_MSG,
     "3045022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc"
     "6324d50220555555550000000055555555555555553ef7a8e48d07df81a693439654"
     "210c70", 1},
    {302, "s == 1", wp_key_302, WP_MSG,
     "30250220555555550000000055555555555555553ef7a8e48d07df81a69343965421"
     "0c70020101", 1},
    {305, "edge case for signature malleability", wp_key_305, WP_MSG,
     "304402207fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e31"
     "92a902207fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e31"
     "92a8", 1},

    /* invalid: r or s modified */
    {118, "modify first byte of integer", wp_key_main, WP_MSG,
     "3045022029a3a8be6b94d5ec80a6d9d1190a436effe50d85a1eee859b8cc6af9bd5c"
     "2e18022100b329f479a2bbd0a5c384ee1493b1f5186a87139cac5df4087c134b4915"
     "6847db", 0},
    {120, "modify last byte of integer", wp_key_main, WP_MSG,
     "304502202ba3a8be6b94d5ec80a6d9d1190a436effe50d85a1eee859b8cc6af9bd5c"
     "2e98022100b329f479a2bbd0a5c384ee1493b1f5186a87139cac5df4087c134b4915"
     "6847db", 0},
    {121, "modify last byte of integer", wp_key_main, WP_MSG,
     "304502202ba3a8be6b94d5ec80a6d9d1190a436effe50d85a1eee859b8cc6af9bd5c"
     "2e18022100b329f479a2bbd0a5c384ee1493b1f5186a87139cac5df4087c134b4915"
     "68475b", 0},
    {129, "replacing integer with zero", wp_key_main, WP_MSG,
     "3026020100022100b329f479a2bbd0a5c384ee1493b1f5186a87139cac5df4087c13"
     "4b49156847db", 0},
    {130, "replacing integer with zero", wp_key_main, WP_MSG,
     "302502202ba3a8be6b94d5ec80a6d9d1190a436effe50d85a1eee859b8cc6af9bd5c"
     "2e18020100", 0},
    {134, "Modified r or s, e.g. by adding or subtracting the order of the "
          "group", wp_key_main, WP_MSG,
     "3046022100d45c5740946b2a147f59262ee6f5bc90bd01ed280528b62b3aed5fc93f"
     "06f739022100b329f479a2bbd0a5c384ee1493b1f5186a87139cac5df4087c134b49"
     "156847db", 0},
    {137, "Modified r or s, e.g. by adding or subtracting the order of the "
          "group", wp_key_main, WP_MSG,
     "3046022100d45c5741946b2a137f59262ee6f5bc91001af27a5e1117a64733950642"
     "a3d1e8022100b329f479a2bbd0a5c384ee1493b1f5186a87139cac5df4087c134b49"
     "156847db", 0},
    {143, "Modified r or s, e.g. by adding or subtracting the order of the "
          "group", wp_key_main, WP_MSG,
     "304402202ba3a8be6b94d5ec80a6d9d1190a436effe50d85a1eee859b8cc6af9bd5c"
     "2e1802204cd60b865d442f5a3c7b11eb6c4e0ae79578ec6353a20bf783ecb4b6ea97"
     "b825", 0},

    /* invalid: special values of r and s ("Signature with special case
     * values for r and s"; n is the group order, p the field prime) */
    {144, "r = 0, s = 0", wp_key_main, WP_MSG, "3006020100020100", 0},
    {147, "r = 0, s = n", wp_key_main, WP_MSG,
     "3026020100022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9"
     "cac2fc632551", 0},
    {155, "r = 1, s = 1", wp_key_main, WP_MSG, "3006020101020101", 0},
    {157, "r = 1, s = n", wp_key_main, WP_MSG,
     "3026020101022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9"
     "cac2fc632551", 0},
    {158, "r = 1, s = n - 1", wp_key_main, WP_MSG,
     "3026020101022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9"
     "cac2fc632550", 0},
    {159, "r = 1, s = n + 1", wp_key_main, WP_MSG,
     "3026020101022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9"
     "cac2fc632552", 0},
    {160, "r = 1, s = p", wp_key_main, WP_MSG,
     "3026020101022100ffffffff00000001000000000000000000000000ffffffffffff"
     "ffffffffffff", 0},
    {174, "r = n, s = 0", wp_key_main, WP_MSG,
     "3026022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc"
     "632551020100", 0},
    {177, "r = n, s = n", wp_key_main, WP_MSG,
     "3046022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc"
     "632551022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2"
     "fc632551", 0},
    {188, "r = n - 1, s = n - 1", wp_key_main, WP_MSG,
     "3046022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc"
     "632550022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2"
     "fc632550", 0},
    {199, "r = n + 1, s = n + 1", wp_key_main, WP_MSG,
     "3046022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc"
     "632552022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2"
     "fc632552", 0},

    /* invalid: out of range, or a degenerate verification */
    {286, "r too large", wp_key_285, WP_MSG,
     "3046022100ffffffff00000001000000000000000000000000fffffffffffffffffff"
     "ffffc022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc"
     "63254e", 0},
    {294, "r is larger than n", wp_key_293, WP_MSG,
     "3026022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc"
     "632556020106", 0},
    {295, "s is larger than n", wp_key_295, WP_MSG,
     "3026020105022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9"
     "cac2fc75fbd8", 0},
    {303, "s == 0", wp_key_302, WP_MSG,
     "30250220555555550000000055555555555555553ef7a8e48d07df81a69343965421"
     "0c70020100", 0},
    {304, "point at infinity during verify", wp_key_304, WP_MSG,
     "304402207fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e31"
     "92a80220555555550000000055555555555555553ef7a8e48d07df81a69343965421"
     "0c70", 0},
};

static void test_ecdsa_wycheproof(void **state)
{
    size_t i, n_valid = 0, n_invalid = 0;
    (void)state;
    for (i = 0; i < sizeof wycheproof / sizeof wycheproof[0]; i++) {
        const struct wp_case *c = &wycheproof[i];
        uint8_t msg[64], der[80], rs[64];
        size_t msg_len = unhex(c->msg, msg, sizeof msg);
        size_t der_len = unhex(c->sig, der, sizeof der);
        EVP_PKEY *key = p256_key_hex(c->key);
        ocp_status st;
        char label[64];

        if (!der_sig_to_rs(der, der_len, rs))
            fail_msg("Wycheproof tcId %d: DER does not fit r || s; it should "
                     "not be in this table", c->tc_id);
        st = hl_verify(key, OCP_SUITE_AES, msg, msg_len, rs);
        if (st != (c->valid ? OCP_OK : OCP_E_SIGNATURE))
            fail_msg("Wycheproof tcId %d (%s), expected %s: hl_verify "
                     "returned %d", c->tc_id, c->comment,
                     c->valid ? "valid" : "invalid", (int)st);
        if (c->valid) {
            snprintf(label, sizeof label, "Wycheproof tcId %d", c->tc_id);
            check_mutations(key, OCP_SUITE_AES, msg, msg_len, rs, label);
            n_valid++;
        } else {
            n_invalid++;
        }
        EVP_PKEY_free(key);
    }
    assert_true(n_valid >= 10);
    assert_true(n_invalid >= 10);
}

/* The DER-to-r||s conversion above decides what the Wycheproof table means,
 * so it is pinned down too. */
static void test_der_to_rs(void **state)
{
    static const struct {
        const char *der;
        int ok;
    } cases[] = {
        {"3006020105020101", 1},
        {"3026020100022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3"
         "b9cac2fc632551", 1},
        {"30060201ff020101", 0},   /* negative r */
        {"3007020200050201" "01", 0}, /* r not minimal */
        {"3006020105020101" "00", 0}, /* trailing byte */
        {"3005020105020101", 0},   /* wrong SEQUENCE length */
        {"30260221012ba3a8bd6b94d5ed80a6d9d1190a436ebccc0833490686deac8635bc"
         "b9bf5369020101", 0},     /* r wider than 32 bytes */
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t der[80], rs[64];
        size_t n = unhex(cases[i].der, der, sizeof der);
        if (der_sig_to_rs(der, n, rs) != cases[i].ok)
            fail_msg("der_sig_to_rs case %zu", i);
    }
}

/* ------------------------------------------------------------------------ */
/* SM2 / SM3: a naive GB/T 32918.2 implementation                           */

struct sm2_curve {
    const char *p, *a, *b, *gx, *gy, *n;
};

/* GB/T 32918.2-2016 annex A.2 (also GM/T 0003.2-2012): the example curve
 * over Fp-256.  The same values are in openssl/openssl
 * test/sm2_internal_test.c, sm2_sig_test(). */
static const struct sm2_curve sm2_annex_curve = {
    "8542D69E4C044F18E8B92435BF6FF7DE457283915C45517D722EDB8B08F1DFC3",
    "787968B4FA32C3FD2417842E73BBFEFF2F3C848B6831D7E0EC65228B3937E498",
    "63E4C6D3B23B0C849CF84241484BFE48F61D59A5B16BA06E6E12D1DA27C5249A",
    "421DEBD61B62EAB6746434EBC3CC315E32220B3BADD50BDC4C4E6C147FEDD43D",
    "0680512BCBB42C07D47349D2153B70C4E5D7FDFCBFA36EA1A85841B9E46E09A2",
    "8542D69E4C044F18E8B92435BF6FF7DD297720630485628D5AE74EE7C32E79B7",
};

/* GB/T 32918.5-2016 (GM/T 0003.5-2012): the recommended curve, built here
 * from its published parameters rather than from OpenSSL's table. */
static const struct sm2_curve sm2_recommended_curve = {
    "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF",
    "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC",
    "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93",
    "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7",
    "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0",
    "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123",
};

static const char our_id[] = "1234567812345678";

static EC_GROUP *sm2_group(const struct sm2_curve *c)
{
    BIGNUM *p = bn_hex(c->p), *a = bn_hex(c->a), *b = bn_hex(c->b);
    BIGNUM *gx = bn_hex(c->gx), *gy = bn_hex(c->gy), *n = bn_hex(c->n);
    BIGNUM *one = BN_new();
    EC_GROUP *g = EC_GROUP_new_curve_GFp(p, a, b, NULL);
    EC_POINT *gen;

    assert_non_null(g);
    assert_non_null(one);
    assert_int_equal(BN_one(one), 1);
    gen = EC_POINT_new(g);
    assert_non_null(gen);
    assert_int_equal(EC_POINT_set_affine_coordinates(g, gen, gx, gy, NULL), 1);
    assert_int_equal(EC_GROUP_set_generator(g, gen, n, one), 1);
    EC_POINT_free(gen);
    BN_free(p);
    BN_free(a);
    BN_free(b);
    BN_free(gx);
    BN_free(gy);
    BN_free(n);
    BN_free(one);
    return g;
}

static void point_xy(const EC_GROUP *g, const EC_POINT *pt, uint8_t x[32],
                     uint8_t y[32])
{
    BIGNUM *bx = BN_new(), *by = BN_new();
    assert_non_null(bx);
    assert_non_null(by);
    assert_int_equal(EC_POINT_get_affine_coordinates(g, pt, bx, by, NULL), 1);
    assert_int_equal(BN_bn2binpad(bx, x, 32), 32);
    assert_int_equal(BN_bn2binpad(by, y, 32), 32);
    BN_free(bx);
    BN_free(by);
}

static void sm3(const uint8_t *in, size_t len, uint8_t out[32])
{
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(in, len, out, &n, EVP_sm3(), NULL), 1);
    assert_int_equal(n, 32);
}

/* Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA), ENTL the ID's
 * length in bits on two bytes (GB/T 32918.2, 5.5). */
static void sm2_z(const EC_GROUP *g, const char *id, const EC_POINT *pub,
                  uint8_t z[32])
{
    uint8_t buf[2 + 64 + 6 * 32];
    size_t id_len = strlen(id), off = 0;
    BIGNUM *a = BN_new(), *b = BN_new();

    assert_true(id_len <= 64);
    assert_non_null(a);
    assert_non_null(b);
    buf[off++] = (uint8_t)((id_len * 8u) >> 8);
    buf[off++] = (uint8_t)(id_len * 8u);
    memcpy(buf + off, id, id_len);
    off += id_len;
    assert_int_equal(EC_GROUP_get_curve(g, NULL, a, b, NULL), 1);
    assert_int_equal(BN_bn2binpad(a, buf + off, 32), 32);
    assert_int_equal(BN_bn2binpad(b, buf + off + 32, 32), 32);
    off += 64;
    point_xy(g, EC_GROUP_get0_generator(g), buf + off, buf + off + 32);
    off += 64;
    point_xy(g, pub, buf + off, buf + off + 32);
    off += 64;
    sm3(buf, off, z);
    BN_free(a);
    BN_free(b);
}

/* e = SM3(Z || M) */
static void sm2_e(const uint8_t z[32], const uint8_t *msg, size_t len,
                  uint8_t e[32])
{
    uint8_t buf[32 + 256];
    assert_true(len <= 256);
    memcpy(buf, z, 32);
    memcpy(buf + 32, msg, len);
    sm3(buf, 32 + len, e);
}

/* GB/T 32918.2, 7.1: verification.  Returns 1 if (r, s) is valid. */
static int sm2_naive_verify(const EC_GROUP *g, const EC_POINT *pub,
                            const char *id, const uint8_t *msg, size_t len,
                            const uint8_t rs[64])
{
    const BIGNUM *n = EC_GROUP_get0_order(g);
    BN_CTX *bn = BN_CTX_new();
    BIGNUM *r = BN_bin2bn(rs, 32, NULL), *s = BN_bin2bn(rs + 32, 32, NULL);
    BIGNUM *e, *t = BN_new(), *x1 = BN_new(), *big_r = BN_new();
    EC_POINT *pt = EC_POINT_new(g);
    uint8_t z[32], eb[32];
    int ok = 0;

    assert_non_null(bn);
    assert_non_null(r);
    assert_non_null(s);
    assert_non_null(t);
    assert_non_null(x1);
    assert_non_null(big_r);
    assert_non_null(pt);
    sm2_z(g, id, pub, z);
    sm2_e(z, msg, len, eb);
    e = BN_bin2bn(eb, 32, NULL);
    assert_non_null(e);
    /* B1, B2: r and s in [1, n-1] */
    if (BN_is_zero(r) || BN_cmp(r, n) >= 0 || BN_is_zero(s) ||
        BN_cmp(s, n) >= 0)
        goto out;
    /* B5: t = (r + s) mod n, not 0 */
    assert_int_equal(BN_mod_add(t, r, s, n, bn), 1);
    if (BN_is_zero(t))
        goto out;
    /* B6: (x1, y1) = [s]G + [t]PA */
    assert_int_equal(EC_POINT_mul(g, pt, s, pub, t, bn), 1);
    if (EC_POINT_is_at_infinity(g, pt))
        goto out;
    assert_int_equal(EC_POINT_get_affine_coordinates(g, pt, x1, NULL, bn), 1);
    /* B7: R = (e + x1) mod n, accept iff R = r */
    assert_int_equal(BN_mod_add(big_r, e, x1, n, bn), 1);
    ok = BN_cmp(big_r, r) == 0;
out:
    BN_free(r);
    BN_free(s);
    BN_free(e);
    BN_free(t);
    BN_free(x1);
    BN_free(big_r);
    EC_POINT_free(pt);
    BN_CTX_free(bn);
    return ok;
}

/* GB/T 32918.2, 6.1: signing with a given k (to reproduce the annex). */
static void sm2_naive_sign(const EC_GROUP *g, const BIGNUM *d, const BIGNUM *k,
                           const char *id, const uint8_t *msg, size_t len,
                           uint8_t rs[64])
{
    const BIGNUM *n = EC_GROUP_get0_order(g);
    BN_CTX *bn = BN_CTX_new();
    EC_POINT *pub = EC_POINT_new(g), *kg = EC_POINT_new(g);
    BIGNUM *e, *x1 = BN_new(), *r = BN_new(), *s = BN_new();
    BIGNUM *tmp = BN_new(), *inv = BN_new();
    uint8_t z[32], eb[32];

    assert_non_null(bn);
    assert_non_null(pub);
    assert_non_null(kg);
    assert_non_null(x1);
    assert_non_null(r);
    assert_non_null(s);
    assert_non_null(tmp);
    assert_non_null(inv);
    assert_int_equal(EC_POINT_mul(g, pub, d, NULL, NULL, bn), 1);
    sm2_z(g, id, pub, z);
    sm2_e(z, msg, len, eb);
    e = BN_bin2bn(eb, 32, NULL);
    assert_non_null(e);
    assert_int_equal(EC_POINT_mul(g, kg, k, NULL, NULL, bn), 1);
    assert_int_equal(EC_POINT_get_affine_coordinates(g, kg, x1, NULL, bn), 1);
    /* A5: r = (e + x1) mod n */
    assert_int_equal(BN_mod_add(r, e, x1, n, bn), 1);
    /* A6: s = ((1 + d)^-1 * (k - r*d)) mod n */
    assert_non_null(BN_copy(tmp, d));
    assert_int_equal(BN_add_word(tmp, 1), 1);
    assert_non_null(BN_mod_inverse(inv, tmp, n, bn));
    assert_int_equal(BN_mod_mul(tmp, r, d, n, bn), 1);
    assert_int_equal(BN_mod_sub(tmp, k, tmp, n, bn), 1);
    assert_int_equal(BN_mod_mul(s, inv, tmp, n, bn), 1);
    assert_int_equal(BN_bn2binpad(r, rs, 32), 32);
    assert_int_equal(BN_bn2binpad(s, rs + 32, 32), 32);
    BN_free(e);
    BN_free(x1);
    BN_free(r);
    BN_free(s);
    BN_free(tmp);
    BN_free(inv);
    EC_POINT_free(pub);
    EC_POINT_free(kg);
    BN_CTX_free(bn);
}

static EC_POINT *point_hex(const EC_GROUP *g, const char *x, const char *y)
{
    BIGNUM *bx = bn_hex(x), *by = bn_hex(y);
    EC_POINT *pt = EC_POINT_new(g);
    assert_non_null(pt);
    assert_int_equal(EC_POINT_set_affine_coordinates(g, pt, bx, by, NULL), 1);
    BN_free(bx);
    BN_free(by);
    return pt;
}

static void assert_hex_equal(const uint8_t *got, size_t len, const char *hex,
                             const char *what)
{
    uint8_t want[64];
    assert_int_equal(unhex(hex, want, sizeof want), len);
    if (memcmp(got, want, len) != 0)
        fail_msg("%s differs from the published value %s", what, hex);
}

/*
 * GB/T 32918.2-2016 annex A.2 (GM/T 0003.2-2012 annex A.2): signature on
 * the Fp-256 example curve.  M, ID, dA, k, r and s also appear in
 * openssl/openssl test/sm2_internal_test.c, sm2_sig_test(); xA, yA, ZA and e
 * are the annex's intermediate values.
 */
#define ANNEX_ID "ALICE123@YAHOO.COM"
#define ANNEX_MSG "message digest"
#define ANNEX_DA "128B2FA8BD433C6C068C8D803DFF79792A519A55171B1B650C23661D15897263"
#define ANNEX_XA "0AE4C7798AA0F119471BEE11825BE46202BB79E2A5844495E97C04FF4DF2548A"
#define ANNEX_YA "7C0240F88F1CD4E16352A73C17B7F16F07353E53A176D684A9FE0C6BB798E857"
#define ANNEX_ZA "F4A38489E32B45B6F876E3AC2168CA392362DC8F23459C1D1146FC3DBFB7BC9A"
#define ANNEX_E  "B524F552CD82B8B028476E005C377FB19A87E6FC682D48BB5D42E3D9B9EFFE76"
#define ANNEX_K  "6CB28D99385C175C94F94E934817663FC176D925DD72B727260DBAAE1FB2F96F"
#define ANNEX_R  "40F1EC59F793D9F49E09DCEF49130D4194F79FB1EED2CAA55BACDB49C4E755D1"
#define ANNEX_S  "6FC6DAC32C5D5CF10C77DFB20F7C2EB667A457872FB09EC56327A67EC7DEEBE7"

static void test_sm2_gbt32918_annex_a(void **state)
{
    EC_GROUP *g = sm2_group(&sm2_annex_curve);
    BIGNUM *d = bn_hex(ANNEX_DA), *k = bn_hex(ANNEX_K);
    EC_POINT *pub = point_hex(g, ANNEX_XA, ANNEX_YA);
    EC_POINT *derived = EC_POINT_new(g);
    const uint8_t *msg = (const uint8_t *)ANNEX_MSG;
    size_t len = strlen(ANNEX_MSG);
    uint8_t z[32], e[32], rs[64], mine[64], bad[32];
    size_t bit;
    (void)state;

    assert_non_null(derived);
    assert_int_equal(EC_POINT_is_on_curve(g, pub, NULL), 1);
    /* PA = [dA]G */
    assert_int_equal(EC_POINT_mul(g, derived, d, NULL, NULL, NULL), 1);
    assert_int_equal(EC_POINT_cmp(g, derived, pub, NULL), 0);
    /* ZA and e */
    sm2_z(g, ANNEX_ID, pub, z);
    assert_hex_equal(z, 32, ANNEX_ZA, "Z_A");
    sm2_e(z, msg, len, e);
    assert_hex_equal(e, 32, ANNEX_E, "e");
    /* The published signature verifies... */
    assert_int_equal(unhex(ANNEX_R, rs, 32), 32);
    assert_int_equal(unhex(ANNEX_S, rs + 32, 32), 32);
    assert_int_equal(sm2_naive_verify(g, pub, ANNEX_ID, msg, len, rs), 1);
    /* ...and is what signing with the annex's k gives. */
    sm2_naive_sign(g, d, k, ANNEX_ID, msg, len, mine);
    assert_memory_equal(mine, rs, 64);
    /* Anything changed fails: r, s, the message, the ID. */
    for (bit = 0; bit < 512; bit += 37) {
        memcpy(mine, rs, 64);
        flip_bit(mine, bit);
        assert_int_equal(sm2_naive_verify(g, pub, ANNEX_ID, msg, len, mine),
                         0);
    }
    memcpy(bad, msg, len);
    flip_bit(bad, 0);
    assert_int_equal(sm2_naive_verify(g, pub, ANNEX_ID, bad, len, rs), 0);
    assert_int_equal(sm2_naive_verify(g, pub, "ALICE123@YAHOO.CON", msg, len,
                                      rs), 0);
    assert_int_equal(sm2_naive_verify(g, pub, our_id, msg, len, rs), 0);

    EC_POINT_free(pub);
    EC_POINT_free(derived);
    BN_free(d);
    BN_free(k);
    EC_GROUP_free(g);
}

/* ------------------------------------------------------------------------ */
/* SM2 through hl_sign / hl_verify                                          */

/* The naive code's view of an OpenSSL SM2 key's public point. */
static EC_POINT *pub_point_of(const EC_GROUP *g, EVP_PKEY *key)
{
    uint8_t buf[133];
    size_t len = 0;
    EC_POINT *pt = EC_POINT_new(g);
    assert_non_null(pt);
    assert_int_equal(EVP_PKEY_get_octet_string_param(
                         key, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof buf, &len),
                     1);
    assert_int_equal(EC_POINT_oct2point(g, pt, buf, len, NULL), 1);
    return pt;
}

/* Verifies r || s with OpenSSL's SM2 under an arbitrary ID, the way
 * signature.c does it but without its fixed ID.  Returns 1 if valid. */
static int evp_sm2_verify_id(EVP_PKEY *key, const char *id,
                             const uint8_t *msg, size_t len,
                             const uint8_t rs[64])
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, 32, NULL), *s = BN_bin2bn(rs + 32, 32, NULL);
    unsigned char *der = NULL;
    int der_len, ok;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(key, NULL);

    assert_non_null(sig);
    assert_non_null(r);
    assert_non_null(s);
    assert_non_null(md);
    assert_non_null(pctx);
    assert_int_equal(ECDSA_SIG_set0(sig, r, s), 1);
    der_len = i2d_ECDSA_SIG(sig, &der);
    assert_true(der_len > 0);
    assert_int_equal(EVP_PKEY_CTX_set1_id(pctx, id, (int)strlen(id)), 1);
    EVP_MD_CTX_set_pkey_ctx(md, pctx);
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, key), 1);
    ok = EVP_DigestVerify(md, der, (size_t)der_len, msg, len) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_CTX_free(pctx);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    return ok;
}

/*
 * GB/T 32918.5-2016 annex A.2 (GM/T 0003.5-2012 annex A.2): signature on
 * the recommended curve with ID "1234567812345678" -- the ID signature.c
 * uses.  dA, k, M, r, s as in openssl/openssl test/sm2_internal_test.c,
 * sm2_sig_test() (SM2_DEFAULT_USERID); PA and Z_A are the annex's.
 */
#define REC_DA "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"
#define REC_XA "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
#define REC_YA "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
#define REC_ZA "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3"
#define REC_K  "59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21"
#define REC_R  "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
#define REC_S  "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"

static void test_sm2_gbt32918_5_example_hl_verify(void **state)
{
    EC_GROUP *g = sm2_group(&sm2_recommended_curve);
    BIGNUM *d = bn_hex(REC_DA), *k = bn_hex(REC_K);
    EC_POINT *pub = point_hex(g, REC_XA, REC_YA), *derived = EC_POINT_new(g);
    const uint8_t *msg = (const uint8_t *)ANNEX_MSG;
    size_t len = strlen(ANNEX_MSG);
    uint8_t pt[65], z[32], rs[64], mine[64];
    EVP_PKEY *key;
    (void)state;

    assert_non_null(derived);
    assert_int_equal(EC_POINT_mul(g, derived, d, NULL, NULL, NULL), 1);
    assert_int_equal(EC_POINT_cmp(g, derived, pub, NULL), 0);
    sm2_z(g, our_id, pub, z);
    assert_hex_equal(z, 32, REC_ZA, "Z_A (recommended curve)");
    assert_int_equal(unhex(REC_R, rs, 32), 32);
    assert_int_equal(unhex(REC_S, rs + 32, 32), 32);
    sm2_naive_sign(g, d, k, our_id, msg, len, mine);
    assert_memory_equal(mine, rs, 64);

    /* The published signature through the code the terminals run. */
    pt[0] = 0x04;
    assert_int_equal(unhex(REC_XA, pt + 1, 32), 32);
    assert_int_equal(unhex(REC_YA, pt + 33, 32), 32);
    key = key_from_point("SM2", "SM2", pt, sizeof pt);
    assert_int_equal(hl_verify(key, OCP_SUITE_SM, msg, len, rs), OCP_OK);
    check_mutations(key, OCP_SUITE_SM, msg, len, rs,
                    "GB/T 32918.5 annex A.2");
    /* The same signature is not an ECDSA signature, nor valid for another
     * ID. */
    assert_int_equal(hl_verify(key, OCP_SUITE_AES, msg, len, rs),
                     OCP_E_SIGNATURE);
    assert_int_equal(evp_sm2_verify_id(key, our_id, msg, len, rs), 1);
    assert_int_equal(evp_sm2_verify_id(key, ANNEX_ID, msg, len, rs), 0);

    EVP_PKEY_free(key);
    EC_POINT_free(pub);
    EC_POINT_free(derived);
    BN_free(d);
    BN_free(k);
    EC_GROUP_free(g);
}

/* A fresh key on the recommended curve: hl_sign, hl_verify, the naive code
 * and OpenSSL with another ID must all agree on what is valid. */
static void test_sm2_round_trip(void **state)
{
    static const char msg_text[] = "OCPS one-card pass, SM suite";
    const uint8_t *msg = (const uint8_t *)msg_text;
    size_t len = sizeof msg_text - 1;
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
    EC_GROUP *g = sm2_group(&sm2_recommended_curve);
    EC_POINT *pub;
    uint8_t sig[64], other[64];
    int round;
    (void)state;

    assert_non_null(key);
    assert_int_equal(EVP_PKEY_is_a(key, "SM2"), 1);
    pub = pub_point_of(g, key);
    for (round = 0; round < 4; round++) {
        assert_int_equal(hl_sign(key, OCP_SUITE_SM, msg, len, sig), OCP_OK);
        assert_int_equal(hl_verify(key, OCP_SUITE_SM, msg, len, sig), OCP_OK);
        /* Differential: the standard's equation, Z with our ID. */
        assert_int_equal(sm2_naive_verify(g, pub, our_id, msg, len, sig), 1);
        assert_int_equal(sm2_naive_verify(g, pub, ANNEX_ID, msg, len, sig),
                         0);
        /* The ID is really used: any other ID fails, ours passes. */
        assert_int_equal(evp_sm2_verify_id(key, our_id, msg, len, sig), 1);
        assert_int_equal(evp_sm2_verify_id(key, "1234567812345679", msg, len,
                                           sig), 0);
        assert_int_equal(evp_sm2_verify_id(key, ANNEX_ID, msg, len, sig), 0);
        memcpy(other, sig, 64);
        flip_bit(other, 511);
        assert_int_equal(hl_verify(key, OCP_SUITE_SM, msg, len, other),
                         OCP_E_SIGNATURE);
        check_mutations(key, OCP_SUITE_SM, msg, len, sig, "SM2 round trip");
    }
    /* And the other direction: a signature the naive code makes with our ID
     * verifies through hl_verify. */
    {
        BIGNUM *d = bn_hex(REC_DA), *k = bn_hex(
            "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF");
        EVP_PKEY *key2;
        EC_POINT *pub2 = EC_POINT_new(g);
        uint8_t pt[65];
        assert_non_null(pub2);
        assert_int_equal(EC_POINT_mul(g, pub2, d, NULL, NULL, NULL), 1);
        assert_int_equal(EC_POINT_point2oct(g, pub2,
                                            POINT_CONVERSION_UNCOMPRESSED,
                                            pt, sizeof pt, NULL),
                         sizeof pt);
        key2 = key_from_point("SM2", "SM2", pt, sizeof pt);
        sm2_naive_sign(g, d, k, our_id, msg, len, sig);
        assert_int_equal(hl_verify(key2, OCP_SUITE_SM, msg, len, sig),
                         OCP_OK);
        sm2_naive_sign(g, d, k, ANNEX_ID, msg, len, sig);
        assert_int_equal(hl_verify(key2, OCP_SUITE_SM, msg, len, sig),
                         OCP_E_SIGNATURE);
        EVP_PKEY_free(key2);
        EC_POINT_free(pub2);
        BN_free(d);
        BN_free(k);
    }
    EC_POINT_free(pub);
    EC_GROUP_free(g);
    EVP_PKEY_free(key);
}

/* ECDSA round trip through hl_sign, for symmetry with SM2. */
static void test_ecdsa_round_trip(void **state)
{
    static const char msg_text[] = "OCPS one-card pass, AES suite";
    const uint8_t *msg = (const uint8_t *)msg_text;
    size_t len = sizeof msg_text - 1;
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    uint8_t sig[64];
    (void)state;

    assert_non_null(key);
    assert_int_equal(hl_sign(key, OCP_SUITE_AES, msg, len, sig), OCP_OK);
    assert_int_equal(hl_verify(key, OCP_SUITE_AES, msg, len, sig), OCP_OK);
    check_mutations(key, OCP_SUITE_AES, msg, len, sig, "ECDSA round trip");
    EVP_PKEY_free(key);
}

/* ------------------------------------------------------------------------ */
/* ocp_verify_public                                                        */

static size_t pubkey_der(EVP_PKEY *key, uint8_t *out, size_t cap)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    assert_true(n > 0 && (size_t)n <= cap);
    memcpy(out, der, (size_t)n);
    OPENSSL_free(der);
    return (size_t)n;
}

/* Public data signed with key under suite: the signature is made for the
 * algorithm of the key (ECDSA for an EC key, SM2 for an SM2 key), which
 * lets the tests below give a card a genuine signature from a key of the
 * wrong kind. */
static void sign_public(EVP_PKEY *key, ocp_public_info *pub)
{
    uint8_t msg[33];
    uint8_t alg = EVP_PKEY_is_a(key, "SM2") == 1 ? OCP_SUITE_SM
                                                 : OCP_SUITE_AES;
    ocp_public_message(pub, msg);
    assert_int_equal(hl_sign(key, alg, msg, sizeof msg, pub->signature),
                     OCP_OK);
    /* genuine: it verifies for its own algorithm */
    assert_int_equal(hl_verify(key, alg, msg, sizeof msg, pub->signature),
                     OCP_OK);
}

static void base_public(ocp_public_info *pub, uint8_t suite)
{
    static const uint8_t card_id[8] = {0x4f, 0x43, 0x50, 0x00,
                                       0x00, 0x01, 0x23, 0x45};
    size_t i;
    memset(pub, 0, sizeof *pub);
    memcpy(pub->card_id, card_id, sizeof card_id);
    pub->suite = suite;
    pub->issue_date = 9000;
    pub->expiry_date = 9000 + 5 * 365;
    for (i = 0; i < sizeof pub->holder_digest; i++)
        pub->holder_digest[i] = (uint8_t)(0xa0 + i);
}

static void mut_card_id(ocp_public_info *p) { flip_bit(p->card_id, 63); }
static void mut_issue(ocp_public_info *p) { p->issue_date++; }
static void mut_expiry(ocp_public_info *p) { p->expiry_date = 0xffff; }
static void mut_digest(ocp_public_info *p) { flip_bit(p->holder_digest, 0); }
static void mut_sig_r(ocp_public_info *p) { flip_bit(p->signature, 100); }
static void mut_sig_s(ocp_public_info *p) { flip_bit(p->signature, 300); }
static void mut_suite(ocp_public_info *p)
{
    p->suite = p->suite == OCP_SUITE_AES ? OCP_SUITE_SM : OCP_SUITE_AES;
}

static const struct {
    const char *what;
    void (*apply)(ocp_public_info *);
} pub_mutations[] = {
    {"card id", mut_card_id},   {"suite", mut_suite},
    {"issue date", mut_issue},  {"expiry date", mut_expiry},
    {"holder digest", mut_digest}, {"signature r", mut_sig_r},
    {"signature s", mut_sig_s},
};

static void test_verify_public(void **state)
{
    EVP_PKEY *keys[2];
    static const uint8_t suites[2] = {OCP_SUITE_AES, OCP_SUITE_SM};
    size_t i, m;
    (void)state;

    keys[0] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    keys[1] = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
    assert_non_null(keys[0]);
    assert_non_null(keys[1]);
    for (i = 0; i < 2; i++) {
        uint8_t der[128];
        size_t der_len = pubkey_der(keys[i], der, sizeof der);
        ocp_public_info good, bad;

        base_public(&good, suites[i]);
        sign_public(keys[i], &good);
        assert_int_equal(ocp_verify_public(&good, der, der_len), OCP_OK);
        for (m = 0; m < sizeof pub_mutations / sizeof pub_mutations[0]; m++) {
            ocp_status st;
            bad = good;
            pub_mutations[m].apply(&bad);
            st = ocp_verify_public(&bad, der, der_len);
            if (st != OCP_E_SIGNATURE)
                fail_msg("suite %u: %s changed, ocp_verify_public returned %d",
                         (unsigned)suites[i], pub_mutations[m].what, (int)st);
        }
    }
    /* A key of the other kind, with a signature it genuinely made over the
     * card's exact public data: refused. */
    for (i = 0; i < 2; i++) {
        EVP_PKEY *wrong = keys[1 - i];
        uint8_t der[128];
        size_t der_len = pubkey_der(wrong, der, sizeof der);
        ocp_public_info pub;

        base_public(&pub, suites[i]);
        sign_public(wrong, &pub);
        if (ocp_verify_public(&pub, der, der_len) != OCP_E_SIGNATURE)
            fail_msg("a %s key accepted for a suite %u card",
                     i == 0 ? "SM2" : "P-256", (unsigned)suites[i]);
    }
    EVP_PKEY_free(keys[0]);
    EVP_PKEY_free(keys[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_der_to_rs),
        cmocka_unit_test(test_ecdsa_cavp_sigver),
        cmocka_unit_test(test_ecdsa_wycheproof),
        cmocka_unit_test(test_ecdsa_round_trip),
        cmocka_unit_test(test_sm2_gbt32918_annex_a),
        cmocka_unit_test(test_sm2_gbt32918_5_example_hl_verify),
        cmocka_unit_test(test_sm2_round_trip),
        cmocka_unit_test(test_verify_public),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
