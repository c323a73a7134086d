/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * G-IKEv2 payloads (draft-ietf-ipsecme-g-ikev2-23 section 4): GSA with its
 * policy substructures and group-wide policy, KD with group and member key
 * bags, wrapped keys and their RFC 5649 unwrap. Every length is checked
 * against the bytes that remain before it is used.
 *
 * GSA policy substructure (4.4.2):
 *   Protocol | SPI Size | Length(2) | SPI | Source TS | Destination TS |
 *   Transforms (RFC 7296 3.3.2, Last Substruc 3 or 0) | GSA Attributes
 * GW policy substructure (4.4.3): 0 | RESERVED | Length(2) | attributes
 * Group key bag (4.5.1): Protocol | SPI Size | Length(2) | SPI | attributes
 * Member key bag (4.5.2): 0 | RESERVED | Length(2) | attributes
 * Wrapped key (4.5.3): Key ID(4) | KWK ID(4) | encrypted key
 *
 * GCAUTH's Signature Algorithm Identifier (RFC 7427 3, RFC 4055 3.1):
 *   AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }
 *   RSASSA-PSS-params ::= SEQUENCE { [0] hashAlgorithm (default SHA-1),
 *     [1] maskGenAlgorithm (default MGF1 with SHA-1), [2] saltLength
 *     (default 20), [3] trailerField (default 1) }
 */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "gvpn_common.h"
#include "gvpn_gikev2.h"

#define FAIL(msg)                                                                                  \
	do {                                                                                       \
		*why = msg;                                                                        \
		return -EBADMSG;                                                                   \
	} while (0)

static const char *const drop_ids[] = {
#define X(n, id, desc) id,
    GIKEV2_DROP_LIST(X)
#undef X
};

const char *
gikev2_drop_id(enum gikev2_drop d)
{
	return d < GIKEV2_DROP_MAX ? drop_ids[d] : "?";
}

int
gikev2_attr_read(const uint8_t *p, size_t left, struct gikev2_attr *a)
{
	if (left < 4)
		return -EBADMSG;
	a->type = ikev2_get16(p) & 0x7fff;
	a->tv = (p[0] & 0x80) != 0;
	if (a->tv) {
		a->data = p + 2;
		a->len = 2;
		return 4;
	}
	a->len = ikev2_get16(p + 2);
	if (a->len > left - 4)
		return -EBADMSG;
	a->data = p + 4;
	return 4 + a->len;
}

/* One traffic selector substructure (RFC 7296 3.13.1). @return its size. */
static int
ts_read(const uint8_t *p, size_t left, struct ikev2_ts *ts)
{
	size_t alen, slen;

	if (left < 8)
		return -EBADMSG;
	alen = p[0] == IKEV2_TS_IPV4_ADDR_RANGE ? 4 : p[0] == IKEV2_TS_IPV6_ADDR_RANGE ? 16 : 0;
	slen = ikev2_get16(p + 2);
	if (alen == 0 || slen != 8 + 2 * alen || slen > left)
		return -EBADMSG;
	memset(ts, 0, sizeof(*ts));
	ts->type = p[0];
	ts->proto = p[1];
	ts->start_port = ikev2_get16(p + 4);
	ts->end_port = ikev2_get16(p + 6);
	memcpy(ts->start, p + 8, alen);
	memcpy(ts->end, p + 8 + alen, alen);
	if (ts->start_port > ts->end_port || memcmp(ts->start, ts->end, alen) > 0)
		return -EBADMSG;
	return (int)slen;
}

/* Transforms of a GSA policy: one of each type (4.4.2.1). @return bytes read. */
static int
transforms_read(const uint8_t *p, size_t left, int registration, struct gikev2_gsa_policy *g,
		const char **why)
{
	size_t off = 0;
	int last = 0;

	while (!last) {
		const uint8_t *x = p + off;
		size_t tlen;
		uint8_t type;
		uint16_t id;

		if (left - off < 8)
			FAIL("GSA transform header does not fit");
		tlen = ikev2_get16(x + 2);
		if (tlen < 8 || tlen > left - off || (x[0] != 0 && x[0] != 3))
			FAIL("GSA transform length or Last Substruc wrong");
		last = x[0] == 0;
		type = x[4];
		id = ikev2_get16(x + 6);
		if (type >= 32 || (g->types_seen & 1u << type))
			FAIL("GSA policy repeats a transform type");
		g->types_seen |= 1u << type;
		for (size_t a = 8; a < tlen;) {
			struct gikev2_attr at;
			int n = gikev2_attr_read(x + a, tlen - a, &at);

			if (n < 0)
				FAIL("GSA transform attribute malformed");
			if (at.type == IKEV2_ATTR_KEY_LENGTH && at.tv && type == IKEV2_TT_ENCR) {
				g->encr.key_bits = ikev2_get16(at.data);
			} else if (at.type == GIKEV2_ATTR_SIG_ALG_ID && !at.tv &&
				   type == IKEV2_TT_GCAUTH) {
				if (at.len == 0 || at.len > sizeof(g->sig_alg))
					FAIL("Signature Algorithm Identifier empty or too long");
				memcpy(g->sig_alg, at.data, at.len);
				g->sig_alg_len = at.len;
			} else {
				FAIL("GSA transform attribute not known for its type");
			}
			a += (size_t)n;
		}
		switch (type) {
		case IKEV2_TT_ENCR:
			g->encr.id = id;
			break;
		case IKEV2_TT_INTEG:
			g->integ = id;
			break;
		case IKEV2_TT_ESN:
			g->sn = id;
			break;
		case IKEV2_TT_KWA:
			g->kwa = id;
			break;
		case IKEV2_TT_GCAUTH:
			if (!registration)
				FAIL("GCAUTH transform in a rekey (the method does not change)");
			g->gcauth = id;
			break;
		default:
			FAIL("GSA transform of a type G-IKEv2 does not use");
		}
		off += tlen;
	}
	return (int)off;
}

#define SEEN(g, t) (((g)->types_seen & 1u << (t)) != 0)

/* The mandatory and optional transforms of each protocol (4.4.2.1). */
static int
transforms_ok(const struct gikev2_gsa_policy *g, int registration, const char **why)
{
	uint32_t allowed;

	switch (g->proto) {
	case IKEV2_PROTO_GIKE_UPDATE:
		allowed = 1u << IKEV2_TT_ENCR | 1u << IKEV2_TT_INTEG | 1u << IKEV2_TT_KWA |
			  1u << IKEV2_TT_GCAUTH;
		if (!SEEN(g, IKEV2_TT_ENCR) || !SEEN(g, IKEV2_TT_KWA))
			FAIL("rekey SA policy lacks its encryption or key wrap transform");
		if (registration && !SEEN(g, IKEV2_TT_GCAUTH))
			FAIL("rekey SA policy lacks its authentication method transform");
		if (g->gcauth == GIKEV2_GCAUTH_DIGITAL_SIGNATURE && g->sig_alg_len == 0)
			FAIL("digital signature method without a Signature Algorithm Identifier");
		if (g->gcauth != GIKEV2_GCAUTH_DIGITAL_SIGNATURE && g->sig_alg_len != 0)
			FAIL("Signature Algorithm Identifier with another method");
		break;
	case IKEV2_PROTO_ESP:
		allowed = 1u << IKEV2_TT_ENCR | 1u << IKEV2_TT_INTEG | 1u << IKEV2_TT_ESN;
		if (!SEEN(g, IKEV2_TT_ENCR) || !SEEN(g, IKEV2_TT_ESN))
			FAIL("ESP policy lacks its encryption or sequence numbers transform");
		break;
	case IKEV2_PROTO_AH:
		allowed = 1u << IKEV2_TT_INTEG | 1u << IKEV2_TT_ESN;
		if (!SEEN(g, IKEV2_TT_INTEG) || !SEEN(g, IKEV2_TT_ESN))
			FAIL("AH policy lacks its integrity or sequence numbers transform");
		break;
	default:
		FAIL("GSA policy of an unknown protocol");
	}
	if (g->types_seen & ~allowed)
		FAIL("GSA policy carries a transform its protocol does not take");
	return 0;
}

static int
gsa_attrs(const uint8_t *p, size_t len, struct gikev2_gsa_policy *g, const char **why)
{
	for (size_t off = 0; off < len;) {
		struct gikev2_attr a;
		int n = gikev2_attr_read(p + off, len - off, &a);

		if (n < 0 || a.tv)
			FAIL("GSA attribute malformed (they are TLV)");
		switch (a.type) {
		case GIKEV2_GSA_KEY_LIFETIME:
			if (a.len != 4 || g->has_lifetime)
				FAIL("GSA_KEY_LIFETIME not one 4-octet value");
			g->has_lifetime = 1;
			g->lifetime = ikev2_get32(a.data);
			break;
		case GIKEV2_GSA_INITIAL_MESSAGE_ID:
			if (a.len != 4 || g->has_initial_msgid ||
			    g->proto != IKEV2_PROTO_GIKE_UPDATE)
				FAIL("GSA_INITIAL_MESSAGE_ID not one 4-octet value of a rekey SA");
			g->has_initial_msgid = 1;
			g->initial_msgid = ikev2_get32(a.data);
			break;
		case GIKEV2_GSA_NEXT_SPI:
			if (a.len != g->spi_len)
				FAIL("GSA_NEXT_SPI not of the policy's SPI size");
			g->n_next_spi++;
			break;
		default:
			FAIL("unknown GSA attribute");
		}
		off += (size_t)n;
	}
	return 0;
}

static int
gw_attrs(const uint8_t *p, size_t len, struct gikev2_gsa *g, const char **why)
{
	for (size_t off = 0; off < len;) {
		struct gikev2_attr a;
		int n = gikev2_attr_read(p + off, len - off, &a);
		int *has;
		uint16_t *v;

		if (n < 0 || !a.tv)
			FAIL("group-wide policy attribute malformed (they are TV)");
		switch (a.type) {
		case GIKEV2_GWP_ATD:
			has = &g->has_atd, v = &g->atd;
			break;
		case GIKEV2_GWP_DTD:
			has = &g->has_dtd, v = &g->dtd;
			break;
		case GIKEV2_GWP_SENDER_ID_BITS:
			has = &g->has_sid_bits, v = &g->sid_bits;
			break;
		default:
			FAIL("unknown group-wide policy attribute");
		}
		if (*has)
			FAIL("group-wide policy attribute repeated");
		*has = 1;
		*v = ikev2_get16(a.data);
		off += (size_t)n;
	}
	return 0;
}

int
gikev2_gsa_parse(const uint8_t *body, size_t len, int registration, struct gikev2_gsa *g,
		 const char **why)
{
	size_t off = 0;
	int rc;

	memset(g, 0, sizeof(*g));
	if (len == 0)
		FAIL("GSA payload empty");
	while (off < len) {
		const uint8_t *s = body + off;
		size_t slen, o;

		if (len - off < 4)
			FAIL("GSA substructure header does not fit");
		slen = ikev2_get16(s + 2);
		if (slen < 4 || slen > len - off)
			FAIL("GSA substructure length wrong");
		if (s[0] == 0) { /* group-wide policy */
			if (g->has_gw)
				FAIL("two group-wide policies");
			g->has_gw = 1;
			if ((rc = gw_attrs(s + 4, slen - 4, g, why)) != 0)
				return rc;
		} else {
			struct gikev2_gsa_policy *p;

			if (g->n == GIKEV2_MAX_POLICIES)
				FAIL("too many GSA policies");
			p = &g->pol[g->n++];
			p->proto = s[0];
			p->spi_len = s[1];
			if (p->spi_len != (p->proto == IKEV2_PROTO_GIKE_UPDATE ? 16 : 4))
				FAIL("GSA policy SPI size not its protocol's");
			if (slen < 4u + p->spi_len)
				FAIL("GSA policy shorter than its SPI");
			memcpy(p->spi, s + 4, p->spi_len);
			o = 4u + p->spi_len;
			if ((rc = ts_read(s + o, slen - o, &p->src)) < 0)
				FAIL("GSA policy source selector malformed");
			o += (size_t)rc;
			if ((rc = ts_read(s + o, slen - o, &p->dst)) < 0)
				FAIL("GSA policy destination selector malformed");
			if (p->dst.type != p->src.type)
				FAIL("GSA policy selectors of two address families");
			o += (size_t)rc;
			if ((rc = transforms_read(s + o, slen - o, registration, p, why)) < 0)
				return rc;
			o += (size_t)rc;
			if ((rc = transforms_ok(p, registration, why)) != 0 ||
			    (rc = gsa_attrs(s + o, slen - o, p, why)) != 0)
				return rc;
		}
		off += slen;
	}
	return 0;
}

/* --- GCAUTH's signature algorithm --- */

/* Is @p enc (the DER an OpenSSL object was read from) the object's own
 * encoding? Catches BER, long length forms and bytes after the end. */
static int
is_der(const ASN1_VALUE *v, const ASN1_ITEM *it, const uint8_t *enc, size_t len)
{
	unsigned char *out = NULL;
	int n = ASN1_item_i2d(v, &out, it), same;

	same = n > 0 && (size_t)n == len && memcmp(out, enc, len) == 0;
	OPENSSL_free(out);
	return same;
}

/* A SHA-2 hash's NID from a hash AlgorithmIdentifier (parameters NULL or
 * absent, RFC 4055 2.1), NID_undef for anything else. */
static int
sha2_nid(const X509_ALGOR *a)
{
	const ASN1_OBJECT *obj;
	int ptype, nid;

	if (a == NULL)
		return NID_undef; /* the DEFAULT: SHA-1 */
	X509_ALGOR_get0(&obj, &ptype, NULL, a);
	nid = OBJ_obj2nid(obj);
	if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL)
		return NID_undef;
	return nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512 ? nid : NID_undef;
}

#define SIG_FAIL(rc_, msg)                                                                         \
	do {                                                                                       \
		*why = msg;                                                                        \
		rc = rc_;                                                                          \
		goto out;                                                                          \
	} while (0)

/* RSASSA-PSS-params (RFC 4055 3.1, RFC 8017 A.2.3): every field explicit
 * where its default is SHA-1, the mask hash the hash, a salt no shorter
 * than the hash (RFC 8017 9.1's typical choice). */
static int
pss_params(const ASN1_TYPE *param, struct gikev2_sig_alg *s, const char **why)
{
	RSA_PSS_PARAMS *p = NULL;
	X509_ALGOR *mh = NULL;
	const ASN1_OBJECT *mgf;
	const ASN1_TYPE *mp = NULL;
	int64_t salt, trailer;
	int rc = 0;

	if (param == NULL || param->type != V_ASN1_SEQUENCE)
		SIG_FAIL(-ENOTSUP, "RSASSA-PSS without RSASSA-PSS-params");
	p = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS), param);
	if (p == NULL ||
	    !is_der((const ASN1_VALUE *)p, ASN1_ITEM_rptr(RSA_PSS_PARAMS),
		    param->value.sequence->data, (size_t)param->value.sequence->length))
		SIG_FAIL(-EBADMSG, "RSASSA-PSS-params not DER");
	if ((s->md_nid = sha2_nid(p->hashAlgorithm)) == NID_undef)
		SIG_FAIL(-ENOTSUP, "RSASSA-PSS hash not SHA-256, SHA-384 or SHA-512");
	if (p->maskGenAlgorithm == NULL)
		SIG_FAIL(-ENOTSUP, "RSASSA-PSS mask generation is the default (MGF1 with SHA-1)");
	X509_ALGOR_get0(&mgf, NULL, NULL, p->maskGenAlgorithm);
	mp = p->maskGenAlgorithm->parameter;
	if (OBJ_obj2nid(mgf) != NID_mgf1 || mp == NULL || mp->type != V_ASN1_SEQUENCE)
		SIG_FAIL(-ENOTSUP, "RSASSA-PSS mask generation not MGF1 with a hash");
	mh = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR), mp);
	if (mh == NULL || !is_der((const ASN1_VALUE *)mh, ASN1_ITEM_rptr(X509_ALGOR),
				  mp->value.sequence->data, (size_t)mp->value.sequence->length))
		SIG_FAIL(-EBADMSG, "RSASSA-PSS MGF1 hash not DER");
	if (sha2_nid(mh) != s->md_nid)
		SIG_FAIL(-ENOTSUP, "RSASSA-PSS MGF1 hash is not the signature's hash");
	if (p->saltLength == NULL)
		SIG_FAIL(-ENOTSUP, "RSASSA-PSS salt length is the default (20)");
	if (ASN1_INTEGER_get_int64(&salt, p->saltLength) != 1 ||
	    salt < EVP_MD_get_size(EVP_get_digestbynid(s->md_nid)) || salt > 1024)
		SIG_FAIL(-ENOTSUP, "RSASSA-PSS salt shorter than the hash (or over 1024 octets)");
	if (p->trailerField != NULL &&
	    (ASN1_INTEGER_get_int64(&trailer, p->trailerField) != 1 || trailer != 1))
		SIG_FAIL(-ENOTSUP, "RSASSA-PSS trailer field not 1 (0xbc)");
	s->pss = 1;
	s->salt_len = (uint16_t)salt;
	s->key_type = EVP_PKEY_RSA;
out:
	X509_ALGOR_free(mh);
	RSA_PSS_PARAMS_free(p);
	return rc;
}

int
gikev2_sig_alg_parse(const uint8_t *der, size_t len, struct gikev2_sig_alg *s, const char **why)
{
	const unsigned char *p = der;
	X509_ALGOR *a = NULL;
	const ASN1_OBJECT *obj;
	int ptype, nid, md_nid = NID_undef, pk_nid = NID_undef, rc = 0;

	memset(s, 0, sizeof(*s));
	if (len == 0 || len > GIKEV2_SIG_ALG_MAX ||
	    (a = d2i_X509_ALGOR(NULL, &p, (long)len)) == NULL || p != der + len ||
	    !is_der((const ASN1_VALUE *)a, ASN1_ITEM_rptr(X509_ALGOR), der, len))
		SIG_FAIL(-EBADMSG,
			 "Signature Algorithm Identifier not one DER AlgorithmIdentifier");
	X509_ALGOR_get0(&obj, &ptype, NULL, a);
	nid = OBJ_obj2nid(obj);
	if (nid == NID_rsassaPss) {
		rc = pss_params(a->parameter, s, why);
		goto out;
	}
	if (OBJ_find_sigid_algs(nid, &md_nid, &pk_nid) != 1 ||
	    (md_nid != NID_sha256 && md_nid != NID_sha384 && md_nid != NID_sha512))
		SIG_FAIL(-ENOTSUP, "signature algorithm not RSA, RSASSA-PSS or ECDSA with SHA-2");
	if (pk_nid == NID_rsaEncryption) {
		if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL)
			SIG_FAIL(-ENOTSUP, "RSA PKCS#1 v1.5 AlgorithmIdentifier with parameters");
		s->key_type = EVP_PKEY_RSA;
	} else if (pk_nid == NID_X9_62_id_ecPublicKey) {
		if (ptype != V_ASN1_UNDEF)
			SIG_FAIL(-ENOTSUP, "ECDSA AlgorithmIdentifier with parameters");
		s->key_type = EVP_PKEY_EC;
	} else {
		SIG_FAIL(-ENOTSUP, "signature algorithm not RSA, RSASSA-PSS or ECDSA with SHA-2");
	}
	s->md_nid = md_nid;
out:
	X509_ALGOR_free(a);
	if (rc != 0)
		memset(s, 0, sizeof(*s));
	return rc;
}

static int
wrapped_read(const struct gikev2_attr *a, struct gikev2_wrapped *w)
{
	/* at least one 8-octet block beyond the IDs (RFC 5649: 16 or more) */
	if (a->tv || a->len < 8 + 16 || (a->len - 8) % 8 != 0)
		return -EBADMSG;
	w->key_id = ikev2_get32(a->data);
	w->kwk_id = ikev2_get32(a->data + 4);
	w->enc = a->data + 8;
	w->enc_len = (uint16_t)(a->len - 8);
	return 0;
}

static int
member_bag(const uint8_t *p, size_t len, struct gikev2_kd *kd, const char **why)
{
	if (kd->has_member)
		FAIL("two member key bags");
	kd->has_member = 1;
	for (size_t off = 0; off < len;) {
		struct gikev2_attr a;
		int n = gikev2_attr_read(p + off, len - off, &a);

		if (n < 0 || a.tv)
			FAIL("member key bag attribute malformed (they are TLV)");
		switch (a.type) {
		case GIKEV2_WRAP_KEY:
			if (kd->n_wrap == GIKEV2_MAX_WRAP_KEYS)
				FAIL("too many WRAP_KEY attributes");
			if (wrapped_read(&a, &kd->wrap[kd->n_wrap]) != 0 ||
			    kd->wrap[kd->n_wrap].key_id == 0)
				FAIL("WRAP_KEY malformed or with Key ID 0");
			kd->n_wrap++;
			break;
		case GIKEV2_AUTH_KEY:
			if (kd->auth_key != NULL || a.len == 0 || a.len > GIKEV2_PUBKEY_MAX)
				FAIL("AUTH_KEY repeated, empty or too long");
			kd->auth_key = a.data;
			kd->auth_key_len = a.len;
			break;
		case GIKEV2_GM_SENDER_ID:
			if (kd->n_sids == GIKEV2_MAX_SIDS || a.len == 0 || a.len > 4)
				FAIL("GM_SENDER_ID not 1 to 4 octets, or too many");
			kd->sid[kd->n_sids] = 0;
			for (uint16_t i = 0; i < a.len; i++)
				kd->sid[kd->n_sids] = kd->sid[kd->n_sids] << 8 | a.data[i];
			kd->n_sids++;
			break;
		default:
			FAIL("unknown member key bag attribute");
		}
		off += (size_t)n;
	}
	return 0;
}

int
gikev2_kd_parse(const uint8_t *body, size_t len, int registration, struct gikev2_kd *kd,
		const char **why)
{
	size_t off = 0;

	memset(kd, 0, sizeof(*kd));
	while (off < len) {
		const uint8_t *s = body + off;
		size_t slen;
		int rc;

		if (len - off < 4)
			FAIL("key bag header does not fit");
		slen = ikev2_get16(s + 2);
		if (slen < 4 || slen > len - off)
			FAIL("key bag length wrong");
		if (s[0] == 0) {
			if (!registration)
				FAIL("member key bag outside a registration (4.5.2)");
			if ((rc = member_bag(s + 4, slen - 4, kd, why)) != 0)
				return rc;
		} else {
			struct gikev2_group_bag *g;
			size_t o;

			if (kd->n_group == GIKEV2_MAX_POLICIES)
				FAIL("too many group key bags");
			g = &kd->group[kd->n_group++];
			g->proto = s[0];
			g->spi_len = s[1];
			if (g->spi_len != (g->proto == IKEV2_PROTO_GIKE_UPDATE ? 16 : 4) ||
			    slen < 4u + g->spi_len)
				FAIL("group key bag SPI size wrong");
			memcpy(g->spi, s + 4, g->spi_len);
			for (o = 4u + g->spi_len; o < slen;) {
				struct gikev2_attr a;
				int n = gikev2_attr_read(s + o, slen - o, &a);

				if (n < 0 || a.tv || a.type != GIKEV2_SA_KEY)
					FAIL("group key bag attribute not an SA_KEY");
				if (g->n_sa_keys == GIKEV2_MAX_WRAP_KEYS)
					FAIL("too many SA_KEY attributes");
				if (wrapped_read(&a, &g->sa_key[g->n_sa_keys]) != 0 ||
				    g->sa_key[g->n_sa_keys].key_id != 0)
					FAIL("SA_KEY malformed or with a Key ID other than 0");
				g->n_sa_keys++;
				o += (size_t)n;
			}
			if (g->n_sa_keys == 0)
				FAIL("group key bag without SA_KEY");
			/* one SA_KEY for a data-security SA; several only for a
			 * rekey SA in GSA_REKEY (4.5.1.1) */
			if (g->n_sa_keys > 1 &&
			    (g->proto != IKEV2_PROTO_GIKE_UPDATE || registration))
				FAIL("several SA_KEY attributes where one is allowed");
		}
		off += slen;
	}
	return 0;
}

unsigned int
gikev2_kwa_key_len(uint16_t kwa)
{
	switch (kwa) {
	case IKEV2_KWA_5649_128:
		return 16;
	case IKEV2_KWA_5649_192:
		return 24;
	case IKEV2_KWA_5649_256:
		return 32;
	default:
		return 0;
	}
}

int
gikev2_unwrap(const struct gikev2_kwk *kwk, const struct gikev2_wrapped *w, uint8_t *out,
	      size_t room)
{
	const EVP_CIPHER *c = kwk->alg == IKEV2_KWA_5649_128   ? EVP_aes_128_wrap_pad()
			      : kwk->alg == IKEV2_KWA_5649_192 ? EVP_aes_192_wrap_pad()
			      : kwk->alg == IKEV2_KWA_5649_256 ? EVP_aes_256_wrap_pad()
							       : NULL;
	EVP_CIPHER_CTX *ctx;
	int l1 = 0, l2 = 0, rc = -EIO;

	if (c == NULL || kwk->len != gikev2_kwa_key_len(kwk->alg))
		return -EIO;
	if (w->enc_len < 16 || w->enc_len % 8 != 0 || w->enc_len - 8u > room)
		return -EBADMSG;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -EIO;
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_DecryptInit_ex(ctx, c, NULL, kwk->key, NULL) == 1) {
		if (EVP_DecryptUpdate(ctx, out, &l1, w->enc, w->enc_len) == 1 &&
		    EVP_DecryptFinal_ex(ctx, out + l1, &l2) == 1 && l1 + l2 > 0)
			rc = l1 + l2;
		else
			rc = -EACCES; /* the integrity check value of RFC 5649 failed */
	}
	EVP_CIPHER_CTX_free(ctx);
	if (rc < 0)
		gvpn_wipe(out, w->enc_len - 8u);
	return rc;
}

int
gikev2_ts_prefix(const struct ikev2_ts *ts, struct gvpn_prefix *pfx, uint8_t *af)
{
	unsigned int alen = ts->type == IKEV2_TS_IPV4_ADDR_RANGE ? 4 : 16, len = 0;
	int host_bits = 0;

	/* the prefix: the leading bits start and end share; then start all
	 * zeros and end all ones */
	for (unsigned int i = 0; i < alen * 8; i++) {
		unsigned int s = ts->start[i / 8] >> (7 - i % 8) & 1;
		unsigned int e = ts->end[i / 8] >> (7 - i % 8) & 1;

		if (!host_bits && s == e) {
			len++;
			continue;
		}
		host_bits = 1;
		if (s != 0 || e != 1)
			return -ENOTSUP;
	}
	memset(pfx, 0, sizeof(*pfx));
	pfx->len = (uint8_t)len;
	if (alen == 4) {
		pfx->addr = ikev2_get32(ts->start);
		*af = GVPN_AF_IPV4;
	} else {
		memcpy(pfx->addr6, ts->start, 16);
		*af = GVPN_AF_IPV6;
	}
	return 0;
}
