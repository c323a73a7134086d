/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Known-answer test vectors for the ESP transforms.
 *
 * Every vector is transcribed from the published document named in its comment and
 * "src" field, and has been re-checked by independent computation (python3-cryptography,
 * hmac/hashlib, openssl CLI).  All byte strings are lower-case hex without separators;
 * ASCII inputs from the documents are given as hex.
 */
#ifndef GVPN_KAT_VECTORS_H
#define GVPN_KAT_VECTORS_H
#include <stddef.h>
#include <stdint.h>
/* hex strings, lower case, no spaces */
struct kat_cipher {
	const char *name;
	const char *src;
	const char *key, *iv, *pt, *ct;
};
/* mac = full-length hex */
struct kat_hmac {
	const char *name;
	const char *src;
	const char *key, *data, *mac;
};
struct kat_gcm {
	const char *name;
	const char *src;
	const char *key, *salt, *iv, *aad, *pt, *ct, *tag;
};

/*
 * AES-CBC (RFC 3602).  RFC 3602 section 4 cases #1-#4 (AES-128), then
 * NIST SP 800-38A Appendix F.2.1/F.2.3/F.2.5 (AES-128/192/256, all four blocks).
 */
static const struct kat_cipher kat_aes_cbc[] = {
    /* RFC 3602 section 4, Case #1: 16 bytes (1 block), plaintext "Single block msg" */
    {
	"aes-128-cbc rfc3602 case 1", "RFC 3602 section 4, Case #1",
	"06a9214036b8a15b512e03d534120006", /* key */
	"3dafba429d9eb430b422da802c9fac41", /* iv */
	"53696e676c6520626c6f636b206d7367", /* pt */
	"e353779c1079aeb82708942dbe77181a", /* ct */
    },
    /* RFC 3602 section 4, Case #2: 32 bytes (2 blocks) */
    {
	"aes-128-cbc rfc3602 case 2", "RFC 3602 section 4, Case #2",
	"c286696d887c9aa0611bbb3e2025a45a",				    /* key */
	"562e17996d093d28ddb3ba695a2e6f58",				    /* iv */
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", /* pt */
	"d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1", /* ct */
    },
    /*
     * RFC 3602 section 4, Case #3: 48 bytes (3 blocks), plaintext "This is a 48-byte message
     * (exactly 3 AES blocks)"
     */
    {
	"aes-128-cbc rfc3602 case 3", "RFC 3602 section 4, Case #3",
	"6c3ea0477630ce21a2ce334aa746c2cd", /* key */
	"c782dc4c098c66cbd9cd27d825682c81", /* iv */
	"5468697320697320612034382d62797465206d65737361676520286578616374"
	"6c7920332041455320626c6f636b7329", /* pt */
	"d0a02b3836451753d493665d33f0e8862dea54cdb293abc7506939276772f8d5"
	"021c19216bad525c8579695d83ba2684", /* ct */
    },
    /* RFC 3602 section 4, Case #4: 64 bytes (4 blocks) */
    {
	"aes-128-cbc rfc3602 case 4", "RFC 3602 section 4, Case #4",
	"56e47a38c5598974bc46903dba290349", /* key */
	"8ce82eefbea0da3c44699ed7db51b7d9", /* iv */
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf", /* pt */
	"c30e32ffedc0774e6aff6af0869f71aa0f3af07a9a31a9c684db207eb0ef8e4e"
	"35907aa632c3ffdf868bb7b29d3d46ad83ce9f9a102ee99d49a53e87f4c3da55", /* ct */
    },
    /* NIST SP 800-38A F.2.1 CBC-AES128.Encrypt: blocks #1-#4, IV and plaintext common to F.2 */
    {
	"aes-128-cbc sp800-38a f.2.1", "NIST SP 800-38A F.2.1 CBC-AES128.Encrypt",
	"2b7e151628aed2a6abf7158809cf4f3c", /* key */
	"000102030405060708090a0b0c0d0e0f", /* iv */
	"6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
	"30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710", /* pt */
	"7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
	"73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7", /* ct */
    },
    /* NIST SP 800-38A F.2.3 CBC-AES192.Encrypt: blocks #1-#4, IV and plaintext common to F.2 */
    {
	"aes-192-cbc sp800-38a f.2.3", "NIST SP 800-38A F.2.3 CBC-AES192.Encrypt",
	"8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b", /* key */
	"000102030405060708090a0b0c0d0e0f",		    /* iv */
	"6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
	"30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710", /* pt */
	"4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a"
	"571b242012fb7ae07fa9baac3df102e008b0e27988598881d920a9e64f5615cd", /* ct */
    },
    /* NIST SP 800-38A F.2.5 CBC-AES256.Encrypt: blocks #1-#4, IV and plaintext common to F.2 */
    {
	"aes-256-cbc sp800-38a f.2.5", "NIST SP 800-38A F.2.5 CBC-AES256.Encrypt",
	"603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", /* key */
	"000102030405060708090a0b0c0d0e0f",				    /* iv */
	"6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
	"30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710", /* pt */
	"f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
	"39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b", /* ct */
    },
};

/*
 * DES-CBC (RFC 2405).  FIPS PUB 81 Appendix C CBC example.
 */
static const struct kat_cipher kat_des_cbc[] = {
    /* FIPS PUB 81 Appendix C (CBC example): plaintext "Now is the time for all " (3 blocks) */
    {
	"des-cbc fips81 appendix c", "FIPS PUB 81 Appendix C (CBC example)",
	"0123456789abcdef",				    /* key */
	"1234567890abcdef",				    /* iv */
	"4e6f77206973207468652074696d6520666f7220616c6c20", /* pt */
	"e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6", /* ct */
    },
};

/*
 * 3DES-CBC (RFC 2451), 3-key TDEA EDE: C = E_K3(D_K2(E_K1(P))), key = K1||K2||K3.
 * NIST CAVP TDES MMT (tdesmmt.zip, TCBCMMT3.rsp), multi-block CBC, non-zero IVs.
 */
static const struct kat_cipher kat_3des_cbc[] = {
    /*
     * NIST CAVP tdesmmt.zip TCBCMMT3.rsp, [ENCRYPT] COUNT = 1: 2 blocks; key =
     * KEY1||KEY2||KEY3
     */
    {
	"3des-cbc cavp tcbcmmt3 encrypt 1",
	"NIST CAVP tdesmmt.zip TCBCMMT3.rsp, [ENCRYPT] COUNT = 1",
	"a49d7564199e97cb529d2c9d97bf2f98d35edf57ba1f7358", /* key */
	"c2e999cb6249023c",				    /* iv */
	"c689aee38a301bb316da75db36f110b5",		    /* pt */
	"e9afaba5ec75ea1bbe65506655bb4ecb",		    /* ct */
    },
    /*
     * NIST CAVP tdesmmt.zip TCBCMMT3.rsp, [ENCRYPT] COUNT = 3: 4 blocks; key =
     * KEY1||KEY2||KEY3
     */
    {
	"3des-cbc cavp tcbcmmt3 encrypt 3",
	"NIST CAVP tdesmmt.zip TCBCMMT3.rsp, [ENCRYPT] COUNT = 3",
	"d98aadc76d4a3716158c32866efbb9ce834af2297379a49d",		    /* key */
	"3c5220327c502b44",						    /* iv */
	"6174079dda53ca723ebf00a66837f8d5ce648c08acaa5ee45ffe62210ef79d3e", /* pt */
	"f5bd4d600bed77bec78409e3530ebda1d815506ed53103015b87e371ae000958", /* ct */
    },
    /*
     * NIST CAVP tdesmmt.zip TCBCMMT3.rsp, [ENCRYPT] COUNT = 7: 8 blocks; key =
     * KEY1||KEY2||KEY3
     */
    {
	"3des-cbc cavp tcbcmmt3 encrypt 7",
	"NIST CAVP tdesmmt.zip TCBCMMT3.rsp, [ENCRYPT] COUNT = 7",
	"3d8cf273d343b9aedccddacb91ad86206737adc86b4a49a7", /* key */
	"bb3a9a0c71c62ef0",				    /* iv */
	"1fde3991c32ce220b5b6666a9234f2fd7bd24b921829fd9cdc6eb4218be9eac9"
	"faa9c2351777349128086b6d58776bc86ff2f76ee1b3b2850a318462b8983fa1", /* pt */
	"422ce705a46bb52ad928dab6c863166d617c6fc24003633120d91918314bbf46"
	"4cea7345c3c35f2042f2d6929735d74d7728f22fea618a0b9cf5b1281acb13fb", /* ct */
    },
    /*
     * NIST CAVP tdesmmt.zip TCBCMMT3.rsp, [DECRYPT] COUNT = 3: 4 blocks (a decrypt vector,
     * given here as its pt/ct pair); key = KEY1||KEY2||KEY3
     */
    {
	"3des-cbc cavp tcbcmmt3 decrypt 3",
	"NIST CAVP tdesmmt.zip TCBCMMT3.rsp, [DECRYPT] COUNT = 3",
	"86838c6815c25b975bdc10f4b95145e649fdefdcf4754ab9",		    /* key */
	"4b1992ad38b4d6dd",						    /* iv */
	"f5f94e406cec1b85e9a7c076b95456b6a439921591abbfc381d0bbf363ff5c04", /* pt */
	"cb78b6deaca11379094341f5c2cfb977bba8259482341f0a32323cae974e49a6", /* ct */
    },
};

/*
 * HMAC-MD5 (RFC 2202 section 2, test cases 1-7).  Full 16-byte MAC; ESP uses the first
 * 12 bytes (HMAC-MD5-96, RFC 2403).
 */
static const struct kat_hmac kat_hmac_md5[] = {
    /*
     * RFC 2202, section 2, test_case = 1: key 0x0b.., data "Hi There"; HMAC-MD5-96 ICV =
     * 9294727a3638bb1c13f48ef8
     */
    {
	"hmac-md5 rfc2202 test_case 1", "RFC 2202, section 2, test_case = 1",
	"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", /* key */
	"4869205468657265",		    /* data */
	"9294727a3638bb1c13f48ef8158bfc9d", /* mac */
    },
    /*
     * RFC 2202, section 2, test_case = 2: key "Jefe", data "what do ya want for nothing?";
     * HMAC-MD5-96 ICV = 750c783e6ab0b503eaa86e31
     */
    {
	"hmac-md5 rfc2202 test_case 2", "RFC 2202, section 2, test_case = 2", "4a656665", /* key */
	"7768617420646f2079612077616e7420666f72206e6f7468696e673f",			  /* data */
	"750c783e6ab0b503eaa86e310a5db738",						  /* mac */
    },
    /*
     * RFC 2202, section 2, test_case = 3: key 0xaa.., data 0xdd x 50; HMAC-MD5-96 ICV =
     * 56be34521d144c88dbb8c733
     */
    {
	"hmac-md5 rfc2202 test_case 3", "RFC 2202, section 2, test_case = 3",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* key */
	"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	"dddddddddddddddddddddddddddddddddddd", /* data */
	"56be34521d144c88dbb8c733f0e8b3f6",	/* mac */
    },
    /*
     * RFC 2202, section 2, test_case = 4: key 0x01..0x19, data 0xcd x 50; HMAC-MD5-96 ICV =
     * 697eaf0aca3a3aea3a751647
     */
    {
	"hmac-md5 rfc2202 test_case 4", "RFC 2202, section 2, test_case = 4",
	"0102030405060708090a0b0c0d0e0f10111213141516171819", /* key */
	"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
	"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd", /* data */
	"697eaf0aca3a3aea3a75164746ffaa79",	/* mac */
    },
    /*
     * RFC 2202, section 2, test_case = 5: key 0x0c.., data "Test With Truncation";
     * HMAC-MD5-96 ICV = 56461ef2342edc00f9bab995
     */
    {
	"hmac-md5 rfc2202 test_case 5", "RFC 2202, section 2, test_case = 5",
	"0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",	    /* key */
	"546573742057697468205472756e636174696f6e", /* data */
	"56461ef2342edc00f9bab995690efd4c",	    /* mac */
    },
    /*
     * RFC 2202, section 2, test_case = 6: key 0xaa x 80, data "Test Using Larger Than
     * Block-Size Key - Hash Key First"; HMAC-MD5-96 ICV = 6b1ab7fe4bd7bf8f0b62e6ce
     */
    {
	"hmac-md5 rfc2202 test_case 6", "RFC 2202, section 2, test_case = 6",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* key */
	"54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
	"65204b6579202d2048617368204b6579204669727374", /* data */
	"6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd",		/* mac */
    },
    /*
     * RFC 2202, section 2, test_case = 7: key 0xaa x 80, data "Test Using Larger Than
     * Block-Size Key and Larger Than One Block-Size Data"; HMAC-MD5-96 ICV =
     * 6f630fad67cda0ee1fb1f562
     */
    {
	"hmac-md5 rfc2202 test_case 7", "RFC 2202, section 2, test_case = 7",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* key */
	"54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
	"65204b657920616e64204c6172676572205468616e204f6e6520426c6f636b2d"
	"53697a652044617461",		    /* data */
	"6f630fad67cda0ee1fb1f562db3aa53e", /* mac */
    },
};

/*
 * HMAC-SHA1 (RFC 2202 section 3, test cases 1-7).  Full 20-byte MAC; ESP uses the first
 * 12 bytes (HMAC-SHA1-96, RFC 2404).
 */
static const struct kat_hmac kat_hmac_sha1[] = {
    /*
     * RFC 2202, section 3, test_case = 1: key 0x0b.., data "Hi There"; HMAC-SHA1-96 ICV =
     * b617318655057264e28bc0b6
     */
    {
	"hmac-sha1 rfc2202 test_case 1", "RFC 2202, section 3, test_case = 1",
	"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", /* key */
	"4869205468657265",			    /* data */
	"b617318655057264e28bc0b6fb378c8ef146be00", /* mac */
    },
    /*
     * RFC 2202, section 3, test_case = 2: key "Jefe", data "what do ya want for nothing?";
     * HMAC-SHA1-96 ICV = effcdf6ae5eb2fa2d27416d5
     */
    {
	"hmac-sha1 rfc2202 test_case 2", "RFC 2202, section 3, test_case = 2", "4a656665", /* key */
	"7768617420646f2079612077616e7420666f72206e6f7468696e673f", /* data */
	"effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",		    /* mac */
    },
    /*
     * RFC 2202, section 3, test_case = 3: key 0xaa.., data 0xdd x 50; HMAC-SHA1-96 ICV =
     * 125d7342b9ac11cd91a39af4
     */
    {
	"hmac-sha1 rfc2202 test_case 3", "RFC 2202, section 3, test_case = 3",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* key */
	"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	"dddddddddddddddddddddddddddddddddddd",	    /* data */
	"125d7342b9ac11cd91a39af48aa17b4f63f175d3", /* mac */
    },
    /*
     * RFC 2202, section 3, test_case = 4: key 0x01..0x19, data 0xcd x 50; HMAC-SHA1-96 ICV =
     * 4c9007f4026250c6bc8414f9
     */
    {
	"hmac-sha1 rfc2202 test_case 4", "RFC 2202, section 3, test_case = 4",
	"0102030405060708090a0b0c0d0e0f10111213141516171819", /* key */
	"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
	"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",	    /* data */
	"4c9007f4026250c6bc8414f9bf50c86c2d7235da", /* mac */
    },
    /*
     * RFC 2202, section 3, test_case = 5: key 0x0c.., data "Test With Truncation";
     * HMAC-SHA1-96 ICV = 4c1a03424b55e07fe7f27be1
     */
    {
	"hmac-sha1 rfc2202 test_case 5", "RFC 2202, section 3, test_case = 5",
	"0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c", /* key */
	"546573742057697468205472756e636174696f6e", /* data */
	"4c1a03424b55e07fe7f27be1d58bb9324a9a5a04", /* mac */
    },
    /*
     * RFC 2202, section 3, test_case = 6: key 0xaa x 80, data "Test Using Larger Than
     * Block-Size Key - Hash Key First"; HMAC-SHA1-96 ICV = aa4ae5e15272d00e95705637
     */
    {
	"hmac-sha1 rfc2202 test_case 6", "RFC 2202, section 3, test_case = 6",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* key */
	"54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
	"65204b6579202d2048617368204b6579204669727374", /* data */
	"aa4ae5e15272d00e95705637ce8a3b55ed402112",	/* mac */
    },
    /*
     * RFC 2202, section 3, test_case = 7: key 0xaa x 80, data "Test Using Larger Than
     * Block-Size Key and Larger Than One Block-Size Data"; HMAC-SHA1-96 ICV =
     * e8e99d0f45237d786d6bbaa7
     */
    {
	"hmac-sha1 rfc2202 test_case 7", "RFC 2202, section 3, test_case = 7",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* key */
	"54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
	"65204b657920616e64204c6172676572205468616e204f6e6520426c6f636b2d"
	"53697a652044617461",			    /* data */
	"e8e99d0f45237d786d6bbaa7965c7808bbff1a91", /* mac */
    },
};

/*
 * HMAC-SHA-256 (RFC 4868 section 2.7.2.1, AUTH256-1..4; all keys are 32 bytes).  mac is the
 * full 32-byte PRF-HMAC-SHA-256 value; the HMAC-SHA-256-128 ICV is its first 16 bytes.
 */
static const struct kat_hmac kat_hmac_sha256[] = {
    /* key 32 bytes where RFC 4868 */
    /*
     * RFC 4868 section 2.7.2.1, Test Case AUTH256-1: key 0x0b x 32, data "Hi There";
     * HMAC-SHA-256-128 = 198a607eb44bfbc69903a0f1cf2bbdc5
     */
    {
	"hmac-sha256 rfc4868 AUTH256-1", "RFC 4868 section 2.7.2.1, Test Case AUTH256-1",
	"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", /* key */
	"4869205468657265",						    /* data */
	"198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7", /* mac */
    },
    /*
     * RFC 4868 section 2.7.2.1, Test Case AUTH256-2: key "Jefe" x 8 (32 bytes), data "what
     * do ya want for nothing?"; HMAC-SHA-256-128 = 167f928588c5cc2eef8e3093caa0e87c
     */
    {
	"hmac-sha256 rfc4868 AUTH256-2", "RFC 4868 section 2.7.2.1, Test Case AUTH256-2",
	"4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665", /* key */
	"7768617420646f2079612077616e7420666f72206e6f7468696e673f",	    /* data */
	"167f928588c5cc2eef8e3093caa0e87c9ff566a14794aa61648d81621a2a40c6", /* mac */
    },
    /*
     * RFC 4868 section 2.7.2.1, Test Case AUTH256-3: key 0xaa x 32, data 0xdd x 50;
     * HMAC-SHA-256-128 = cdcb1220d1ecccea91e53aba3092f962
     */
    {
	"hmac-sha256 rfc4868 AUTH256-3", "RFC 4868 section 2.7.2.1, Test Case AUTH256-3",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* key */
	"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	"dddddddddddddddddddddddddddddddddddd",				    /* data */
	"cdcb1220d1ecccea91e53aba3092f962e549fe6ce9ed7fdc43191fbde45c30b0", /* mac */
    },
    /*
     * RFC 4868 section 2.7.2.1, Test Case AUTH256-4: key 0x01..0x20 (32 bytes), data 0xcd x
     * 50; HMAC-SHA-256-128 = 372efcf9b40b35c2115b1346903d2ef4
     */
    {
	"hmac-sha256 rfc4868 AUTH256-4", "RFC 4868 section 2.7.2.1, Test Case AUTH256-4",
	"0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", /* key */
	"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
	"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",				    /* data */
	"372efcf9b40b35c2115b1346903d2ef42fced46f0846e7257bb156d3d7b30d3f", /* mac */
    },
};

/*
 * HMAC-SHA-384 and HMAC-SHA-512 (RFC 4868 section 2.7.2, the authentication vectors: keys
 * as long as the hash output).  mac is the full HMAC; ESP keeps the first 24 (SHA-384-192)
 * or 32 (SHA-512-256) bytes (RFC 4868).
 */
static const struct kat_hmac kat_hmac_sha384[] = {
    /* RFC 4868 section 2.7.2.2, Test Case AUTH384-1: key 0x0b x 48, data "Hi There";
       HMAC-SHA-384-192 = b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973 */
    {
	"hmac-sha384 rfc4868 AUTH384-1", "RFC 4868 section 2.7.2.2, Test Case AUTH384-1",
	"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
	"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", /* key */
	"4869205468657265",		    /* data */
	"b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee9737a959796489bddbc"
	"4c5df61d5b3297b4fb68dab9f1b582c2", /* mac */
    },
    /* RFC 4868 section 2.7.2.2, Test Case AUTH384-2: key "Jefe" x 12 (48 bytes), data "what do ya
       want for nothing?" */
    {
	"hmac-sha384 rfc4868 AUTH384-2", "RFC 4868 section 2.7.2.2, Test Case AUTH384-2",
	"4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665"
	"4a6566654a6566654a6566654a656665",			    /* key */
	"7768617420646f2079612077616e7420666f72206e6f7468696e673f", /* data */
	"2c7353974f1842fd66d53c452ca42122b28c0b594cfb184da86a368e9b8e16f5"
	"349524ca4e82400cbde0686d403371c9", /* mac */
    },
    /* RFC 4868 section 2.7.2.2, Test Case AUTH384-3: key 0xaa x 48, data 0xdd x 50 */
    {
	"hmac-sha384 rfc4868 AUTH384-3", "RFC 4868 section 2.7.2.2, Test Case AUTH384-3",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* key */
	"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	"dddddddddddddddddddddddddddddddddddd", /* data */
	"809f439be00274321d4a538652164b53554a508184a0c3160353e3428597003d"
	"35914a18770f9443987054944b7c4b4a", /* mac */
    },
};

static const struct kat_hmac kat_hmac_sha512[] = {
    /* RFC 4868 section 2.7.2.3, Test Case AUTH512-1: key 0x0b x 64, data "Hi There";
       HMAC-SHA-512-256 = 637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8 */
    {
	"hmac-sha512 rfc4868 AUTH512-1", "RFC 4868 section 2.7.2.3, Test Case AUTH512-1",
	"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
	"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", /* key */
	"4869205468657265",						    /* data */
	"637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8"
	"ac2878ebd5803f6f0b61dbce5e251ff8789a4722c1be65aea45fd464e89f8f5b", /* mac */
    },
    /* RFC 4868 section 2.7.2.3, Test Case AUTH512-2: key "Jefe" x 16 (64 bytes), data "what do ya
       want for nothing?" */
    {
	"hmac-sha512 rfc4868 AUTH512-2", "RFC 4868 section 2.7.2.3, Test Case AUTH512-2",
	"4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665"
	"4a6566654a6566654a6566654a6566654a6566654a6566654a6566654a656665", /* key */
	"7768617420646f2079612077616e7420666f72206e6f7468696e673f",	    /* data */
	"cb370917ae8a7ce28cfd1d8f4705d6141c173b2a9362c15df235dfb251b15454"
	"6aa334ae9fb9afc2184932d8695e397bfa0ffb93466cfcceaae38c833b7dba38", /* mac */
    },
    /* RFC 4868 section 2.7.2.3, Test Case AUTH512-3: key 0xaa x 64, data 0xdd x 50 */
    {
	"hmac-sha512 rfc4868 AUTH512-3", "RFC 4868 section 2.7.2.3, Test Case AUTH512-3",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* key */
	"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	"dddddddddddddddddddddddddddddddddddd", /* data */
	"2ee7acd783624ca9398710f3ee05ae41b9f9b0510c87e49e586cc9bf961733d8"
	"623c7b55cebefccf02d5581acc1c9d5fb1ff68a1de45509fbe4da9a433922655", /* mac */
    },
};

/*
 * AES-GCM-ESP (RFC 4106) from draft-mcgrew-gcm-test-01 section 4.  The draft does not number
 * its vectors; "test case N" below is the N-th vector in section 4 in document order.
 * GCM nonce = salt (4 bytes, from the keying material) || iv (8 bytes, sent in the packet);
 * aad = SPI || sequence number (32-bit) or SPI || extended sequence number (64-bit);
 * pt = inner packet || ESP trailer (padding, pad length, next header); the ICV is the
 * 16-byte tag.  Each packet listed in the draft equals SPI || seq(low 32) || iv || ct || tag.
 */
static const struct kat_gcm kat_aes_gcm[] = {
    /*
     * draft-mcgrew-gcm-test-01 section 4, test case 1 (page 7): AES-128, SPI 00004321, ESN
     * seq 8765432100000000 (aad 12 bytes), pt 72 bytes
     */
    {
	"aes-128-gcm-esp mcgrew-gcm-test case 1",
	"draft-mcgrew-gcm-test-01 section 4, test case 1 (page 7)",
	"4c80cdefbb5d10da906ac73c3613a634", /* key */
	"2e443b68",			    /* salt */
	"4956ed7e3b244cfe",		    /* iv */
	"000043218765432100000000",	    /* aad */
	"45000048699a000080114db7c0a80102c0a801010a9bf15638d3010000010000"
	"00000000045f736970045f756470037369700963796265726369747902646b00"
	"0021000101020201", /* pt */
	"fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34"
	"cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce"
	"61bc17d768fd9732",		    /* ct */
	"459018148f6cbe722fd04796562dfdb4", /* tag */
    },
    /*
     * draft-mcgrew-gcm-test-01 section 4, test case 2 (page 8): AES-128, SPI 0000a5f8,
     * 32-bit seq 0000000a (aad 8 bytes), pt 64 bytes
     */
    {
	"aes-128-gcm-esp mcgrew-gcm-test case 2",
	"draft-mcgrew-gcm-test-01 section 4, test case 2 (page 8)",
	"feffe9928665731c6d6a8f9467308308", /* key */
	"cafebabe",			    /* salt */
	"facedbaddecaf888",		    /* iv */
	"0000a5f80000000a",		    /* aad */
	"4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d00100"
	"0001000000000000037369700963796265726369747902646b00000100010001", /* pt */
	"deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f1ba76d5d114d2a5c"
	"3de81827c10e9a4f51330d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd1", /* ct */
	"83b70d3aa8bc6ee4c309e9d85a41ad4a",				    /* tag */
    },
    /*
     * draft-mcgrew-gcm-test-01 section 4, test case 3 (page 9): AES-256, SPI 4a2cbfe3,
     * 32-bit seq 00000002 (aad 8 bytes), pt 52 bytes
     */
    {
	"aes-256-gcm-esp mcgrew-gcm-test case 3",
	"draft-mcgrew-gcm-test-01 section 4, test case 3 (page 9)",
	"abbccddef00112233445566778899aababbccddef00112233445566778899aab", /* key */
	"11223344",							    /* salt */
	"0102030405060708",						    /* iv */
	"4a2cbfe300000002",						    /* aad */
	"4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee000000000"
	"7002400020bf0000020405b40101040201020201", /* pt */
	"ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763"
	"748a637985771d347f0545659f14e99def842d8e", /* ct */
	"b335f4eecfdbf831824b4c4915956c96",	    /* tag */
    },
    /*
     * draft-mcgrew-gcm-test-01 section 4, test case 4 (page 10): AES-128, SPI 00000000,
     * 32-bit seq 00000001 (aad 8 bytes), pt 64 bytes
     */
    {
	"aes-128-gcm-esp mcgrew-gcm-test case 4",
	"draft-mcgrew-gcm-test-01 section 4, test case 4 (page 10)",
	"00000000000000000000000000000000", /* key */
	"00000000",			    /* salt */
	"0000000000000000",		    /* iv */
	"0000000000000001",		    /* aad */
	"4500003c99c500008001cb7a40679318010101010800075c0200440061626364"
	"65666768696a6b6c6d6e6f707172737475767761626364656667686901020201", /* pt */
	"4688daf2f973a392732909c331d56d60f694abaa414b5e7ff5fdcdfff5e9a284"
	"456476492719ffb64de7d9dca1e1d894bc3bd57873ed4d181d19d4d5c8c18af3", /* ct */
	"f821d496eeb096e98ad2b69e4799c71d",				    /* tag */
    },
    /*
     * draft-mcgrew-gcm-test-01 section 4, test case 5 (page 11): AES-128, SPI 42f67e3f, ESN
     * seq 1010101010101010 (aad 12 bytes), pt 64 bytes
     */
    {
	"aes-128-gcm-esp mcgrew-gcm-test case 5",
	"draft-mcgrew-gcm-test-01 section 4, test case 5 (page 11)",
	"3de09874b388e6491988d0c3607eae1f", /* key */
	"57690e43",			    /* salt */
	"4e280000a2fca1a3",		    /* iv */
	"42f67e3f1010101010101010",	    /* aad */
	"4500003c99c300008001cb7c40679318010101010800085c0200430061626364"
	"65666768696a6b6c6d6e6f707172737475767761626364656667686901020201", /* pt */
	"fba2caa4853cf9f0f22cb10d86dd83b0fec75691cf1a04b00d1138ec9c357917"
	"65acbd8701ad79845bf9fe3fba487bc91755e6662b4c8d0d1f5e22739530320a", /* ct */
	"e0d731cc978ecafaeae88f00e80d6e48",				    /* tag */
    },
    /*
     * draft-mcgrew-gcm-test-01 section 4, test case 9 (page 14): AES-256, SPI 17405e67, ESN
     * seq 156f3126dd0db99b (aad 12 bytes), pt 40 bytes
     */
    {
	"aes-256-gcm-esp mcgrew-gcm-test case 9",
	"draft-mcgrew-gcm-test-01 section 4, test case 9 (page 14)",
	"abbccddef00112233445566778899aababbccddef00112233445566778899aab", /* key */
	"73616c74",							    /* salt */
	"616e640169766563",						    /* iv */
	"17405e67156f3126dd0db99b",					    /* aad */
	"45080028732c00004006e9f90a0106120a01038f06b88023dd6bafbecb712602"
	"50101f646d540001", /* pt */
	"f2d69ecdbd5a0d5b8d5ef38bad4da58d1f278fde98ef67549d524a3018d9a57f"
	"f4d3a31ce673119e",		    /* ct */
	"451626c2415771e3b7eebca614c89b35", /* tag */
    },
    /*
     * draft-mcgrew-gcm-test-01 section 4, test case 12 (page 17): AES-128, SPI 335467ae,
     * 32-bit seq ffffffff (aad 8 bytes), pt 4 bytes
     */
    {
	"aes-128-gcm-esp mcgrew-gcm-test case 12",
	"draft-mcgrew-gcm-test-01 section 4, test case 12 (page 17)",
	"7d773d00c144c525ac619d18c84a3f47", /* key */
	"d9664267",			    /* salt */
	"43457e9182443bc6",		    /* iv */
	"335467aeffffffff",		    /* aad */
	"01020201",			    /* pt */
	"437f866b",			    /* ct */
	"cb3f699fe9b0822bac961c4504bef270", /* tag */
    },
    /*
     * draft-mcgrew-gcm-test-01 section 4, test case 14 (page 18): AES-256, SPI 796b6963, ESN
     * seq ffffffffffffffff (aad 12 bytes), pt 52 bytes
     */
    {
	"aes-256-gcm-esp mcgrew-gcm-test case 14",
	"draft-mcgrew-gcm-test-01 section 4, test case 14 (page 18)",
	"6c6567616c697a656d6172696a75616e61616e64646f69746265666f72656961", /* key */
	"7475726e",							    /* salt */
	"333021696765746d",						    /* iv */
	"796b6963ffffffffffffffff",					    /* aad */
	"45000030da3a00008001df3bc0a80005c0a800010800c6cd0200070061626364"
	"65666768696a6b6c6d6e6f707172737401020201", /* pt */
	"f97ab2aa356d8edce17644ac8c78e25dd24dedbb29ebf1b64a274b39b49c3a86"
	"4cd3d78ca4ae68a32b42458fb57dbe821dcc63b9", /* ct */
	"d0937ba2945f669368661a329fb4c053",	    /* tag */
    },
};

/*
 * AES-GMAC (RFC 4543, ENCR_NULL_AUTH_AES_GMAC): GCM with an empty plaintext, everything in
 * the AAD.  nonce = salt (4 bytes, from the keying material) || iv (8 bytes, in the packet).
 * The first vector is an ESP packet (draft-mcgrew-gcm-test-01 section 4, its AES-GMAC case,
 * SPI 00004321, 32-bit seq 00000007: aad = SPI || seq || IV || payload || trailer).  The others are
 * NIST CAVP gcmEncryptExtIV128/256.rsp vectors with PTlen = 0 and a 96-bit IV, whose IV is split
 * into salt (first 4 bytes) and iv (last 8 bytes).
 */
struct kat_gmac {
	const char *name;
	const char *src;
	const char *key, *salt, *iv, *aad, *tag;
};
static const struct kat_gmac kat_aes_gmac[] = {
    /* draft-mcgrew-gcm-test-01 section 4, AES-GMAC test case (SPI 00004321, seq 7) */
    {
	"aes-128-gmac-esp mcgrew-gcm-test spi 4321",
	"draft-mcgrew-gcm-test-01 section 4, AES-GMAC test case (SPI 00004321, seq 7)",
	"4c80cdefbb5d10da906ac73c3613a634", /* key */
	"22433c64",			    /* salt */
	"0000000000000000",		    /* iv */
	"0000432100000007000000000000000045000030da3a00008001df3bc0a80005"
	"c0a800010800c6cd020007006162636465666768696a6b6c6d6e6f7071727374"
	"01020201",			    /* aad */
	"f2a9a836e155106aa8dcd618e4099aaa", /* tag */
    },
    /* gcmEncryptExtIV128.rsp [Keylen=128][IVlen=96][PTlen=0][AADlen=128][Taglen=128] Count=0 */
    {
	"aes-128-gmac cavp aad128",
	"gcmEncryptExtIV128.rsp [Keylen=128][IVlen=96][PTlen=0][AADlen=128][Taglen=128] Count=0",
	"77be63708971c4e240d1cb79e8d77feb", /* key */
	"e0e00f19",			    /* salt */
	"fed7ba0136a797f3",		    /* iv */
	"7a43ec1d9c0a5a78a0b16533a6213cab", /* aad */
	"209fcc8d3675ed938e9c7166709dd946", /* tag */
    },
    /* gcmEncryptExtIV128.rsp [Keylen=128][IVlen=96][PTlen=0][AADlen=160][Taglen=128] Count=0 */
    {
	"aes-128-gmac cavp aad160",
	"gcmEncryptExtIV128.rsp [Keylen=128][IVlen=96][PTlen=0][AADlen=160][Taglen=128] Count=0",
	"2fb45e5b8f993a2bfebc4b15b533e0b4",	    /* key */
	"5b05755f",				    /* salt */
	"984d2b90f94b8027",			    /* iv */
	"e85491b2202caf1d7dce03b97e09331c32473941", /* aad */
	"c75b7832b2a2d9bd827412b6ef5769db",	    /* tag */
    },
    /* gcmEncryptExtIV128.rsp [Keylen=128][IVlen=96][PTlen=0][AADlen=384][Taglen=128] Count=0 */
    {
	"aes-128-gmac cavp aad384",
	"gcmEncryptExtIV128.rsp [Keylen=128][IVlen=96][PTlen=0][AADlen=384][Taglen=128] Count=0",
	"99e3e8793e686e571d8285c564f75e2b", /* key */
	"c2dd0ab8",			    /* salt */
	"68da6aa8ad9c0d23",		    /* iv */
	"b668e42d4e444ca8b23cfdd95a9fedd5178aa521144890b093733cf5cf22526c"
	"5917ee476541809ac6867a8c399309fc", /* aad */
	"3f4fba100eaf1f34b0baadaae9995d85", /* tag */
    },
    /* gcmEncryptExtIV256.rsp [Keylen=256][IVlen=96][PTlen=0][AADlen=128][Taglen=128] Count=0 */
    {
	"aes-256-gmac cavp aad128 0",
	"gcmEncryptExtIV256.rsp [Keylen=256][IVlen=96][PTlen=0][AADlen=128][Taglen=128] Count=0",
	"78dc4e0aaf52d935c3c01eea57428f00ca1fd475f5da86a49c8dd73d68c8e223", /* key */
	"d79cf22d",							    /* salt */
	"504cc793c3fb6c8a",						    /* iv */
	"b96baa8c1c75a671bfb2d08d06be5f36",				    /* aad */
	"3e5d486aa2e30b22e040b85723a06e76",				    /* tag */
    },
    /* gcmEncryptExtIV256.rsp [Keylen=256][IVlen=96][PTlen=0][AADlen=128][Taglen=128] Count=1 */
    {
	"aes-256-gmac cavp aad128 1",
	"gcmEncryptExtIV256.rsp [Keylen=256][IVlen=96][PTlen=0][AADlen=128][Taglen=128] Count=1",
	"4457ff33683cca6ca493878bdc00373893a9763412eef8cddb54f91318e0da88", /* key */
	"699d1f29",							    /* salt */
	"d7b8c55300bb1fd2",						    /* iv */
	"6749daeea367d0e9809e2dc2f309e6e3",				    /* aad */
	"d60c74d2517fde4a74e0cd4709ed43a9",				    /* tag */
    },
    /* gcmEncryptExtIV256.rsp [Keylen=256][IVlen=96][PTlen=0][AADlen=160][Taglen=128] Count=0 */
    {
	"aes-256-gmac cavp aad160",
	"gcmEncryptExtIV256.rsp [Keylen=256][IVlen=96][PTlen=0][AADlen=160][Taglen=128] Count=0",
	"886cff5f3e6b8d0e1ad0a38fcdb26de97e8acbe79f6bed66959a598fa5047d65", /* key */
	"3a8efa1c",							    /* salt */
	"d74bbab5448f9945",						    /* iv */
	"519fee519d25c7a304d6c6aa1897ee1eb8c59655",			    /* aad */
	"f6d47505ec96c98a42dc3ae719877b87",				    /* tag */
    },
};

#endif
