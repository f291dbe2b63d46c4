package fleet

import (
	"context"
	"crypto/ecdh"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// PartnerAccount is the answer of POST /api/1/partner_accounts. Tesla's
// field list varies between snapshots; only what the bridge reads is typed.
type PartnerAccount struct {
	ClientID  string `json:"client_id"`
	Domain    string `json:"domain"`
	PublicKey string `json:"public_key"`
}

// RegisterPartnerAccount registers the app's domain in the client's region
// (POST /api/1/partner_accounts, FLEET_API.md §2.3). The client must carry a
// partner token (PartnerToken), not a user token. Tesla fetches the public
// key from the domain while answering, so an unreachable key fails here.
func (c *Client) RegisterPartnerAccount(ctx context.Context, domain string) (*PartnerAccount, error) {
	// The fields are informative; success is the 2xx, so a null body is fine.
	var pa PartnerAccount
	if err := c.do(ctx, call{method: http.MethodPost, endpoint: CallPartnerRegister,
		path: "/api/1/partner_accounts", body: map[string]any{"domain": bareDomain(domain)}, out: &pa,
		nullOK: true}); err != nil {
		return nil, err
	}
	return &pa, nil
}

// PartnerPublicKey reads back the public key Tesla holds for domain in the
// client's region (GET /api/1/partner_accounts/public_key). It returns the
// key as PKIX "PUBLIC KEY" PEM, whatever form Tesla sent (hex of the
// uncompressed point, PEM, or base64 DER), so SamePublicKey compares it
// with the local key.
func (c *Client) PartnerPublicKey(ctx context.Context, domain string) ([]byte, error) {
	var out struct {
		PublicKey string `json:"public_key"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, endpoint: CallPartnerPublicKey,
		path: "/api/1/partner_accounts/public_key", query: url.Values{"domain": {bareDomain(domain)}},
		out: &out}); err != nil {
		return nil, err
	}
	pemKey, err := partnerKeyPEM(out.PublicKey)
	if err != nil {
		return nil, &APIError{Endpoint: CallPartnerPublicKey, Status: http.StatusOK,
			Message: "public_key: " + err.Error(), Kind: ErrMalformed}
	}
	return pemKey, nil
}

// partnerKeyPEM turns the registered key into PEM.
func partnerKeyPEM(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("no key registered")
	}
	if strings.HasPrefix(s, "-----BEGIN") {
		if _, err := parsePublicKey([]byte(s)); err != nil {
			return nil, errors.New("not an EC public key")
		}
		return []byte(s), nil
	}
	if raw, err := hex.DecodeString(s); err == nil {
		pub, err := ecdh.P256().NewPublicKey(raw)
		if err != nil {
			return nil, errors.New("not a P-256 point")
		}
		return pointPEM(pub)
	}
	if der, err := base64.StdEncoding.DecodeString(s); err == nil {
		if _, err := parsePublicKey(der); err != nil {
			return nil, errors.New("not an EC public key")
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
	}
	return nil, errors.New("unrecognised key encoding")
}

// pointPEM encodes an ECDH P-256 public key as PKIX PEM.
func pointPEM(pub *ecdh.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// PublicKeyHex returns the hex of the uncompressed point of a PEM public key,
// the form Tesla's partner endpoints use; "" when pemKey is not a P-256 key.
func PublicKeyHex(pemKey []byte) string {
	k, err := parsePublicKey(pemKey)
	if err != nil {
		return ""
	}
	return hex.EncodeToString(k.Bytes())
}
