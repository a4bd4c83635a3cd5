// Package authtoken issues and verifies agents' access tokens: short-lived
// ES256 JWTs shaped like Convex Auth's (sub = "userId|sessionId",
// aud = "convex", iat/exp set so the convex client can schedule refreshes),
// signed with a key pair generated on first start and kept in the database.
package authtoken

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

// Audience is the aud claim Convex Auth uses.
const Audience = "convex"

// Keys signs and verifies tokens.
type Keys struct {
	kid    string
	priv   *ecdsa.PrivateKey
	Issuer string
	// Now is the clock (tests inject one).
	Now func() time.Time
	// SessionValid, when set, is asked whether the token's session still
	// exists (so signing out or revoking a session takes effect at once).
	SessionValid func(ctx context.Context, userID, sessionID string) bool
}

// Load reads the signing key from the store, generating it on first use.
func Load(ctx context.Context, store *sqlstore.Store, issuer string) (*Keys, error) {
	var kid, pemText string
	_, err := store.Read(ctx, func(tx *sqlstore.Tx) error {
		return tx.QueryRow(`SELECT kid, private_pem FROM _auth_keys WHERE alg='ES256' ORDER BY created_at DESC LIMIT 1`).Scan(&kid, &pemText)
	})
	if errors.Is(err, sql.ErrNoRows) {
		priv, gerr := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if gerr != nil {
			return nil, gerr
		}
		der, gerr := x509.MarshalPKCS8PrivateKey(priv)
		if gerr != nil {
			return nil, gerr
		}
		pemText = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		sum := sha256.Sum256(der)
		kid = base64.RawURLEncoding.EncodeToString(sum[:12])
		_, err = store.Write(ctx, func(tx *sqlstore.Tx) error {
			_, err := tx.Exec(`INSERT INTO _auth_keys(kid, alg, private_pem, created_at) VALUES (?, 'ES256', ?, ?)`, kid, pemText, time.Now().UnixMilli())
			return err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("load signing key: %w", err)
	}
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("stored signing key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse signing key: %w", err)
	}
	priv, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("stored signing key is not ECDSA")
	}
	return &Keys{kid: kid, priv: priv, Issuer: issuer, Now: time.Now}, nil
}

// Issue signs an access token for the user's session, valid for ttl.
func (k *Keys) Issue(userID, sessionID string, ttl time.Duration) (string, time.Time, error) {
	now := k.Now()
	exp := now.Add(ttl)
	claims := jwt.MapClaims{
		"sub": userID + "|" + sessionID,
		"iss": k.Issuer,
		"aud": Audience,
		"iat": now.Unix(),
		"exp": exp.Unix(),
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	t.Header["kid"] = k.kid
	s, err := t.SignedString(k.priv)
	return s, exp, err
}

// ErrInvalidToken is wrapped by every verification failure.
var ErrInvalidToken = errors.New("invalid token")

// VerifyToken implements fn.TokenVerifier.
func (k *Keys) VerifyToken(ctx context.Context, token string) (*fn.Identity, error) {
	parsed, err := jwt.Parse(token, func(t *jwt.Token) (any, error) {
		return &k.priv.PublicKey, nil
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithAudience(Audience), jwt.WithExpirationRequired(), jwt.WithTimeFunc(k.Now), jwt.WithLeeway(5*time.Second))
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, fmt.Errorf("%w: token expired", ErrInvalidToken)
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	claims, _ := parsed.Claims.(jwt.MapClaims)
	sub, _ := claims["sub"].(string)
	user, session, _ := strings.Cut(sub, "|")
	if user == "" {
		return nil, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	exp, _ := claims.GetExpirationTime()
	iss, _ := claims["iss"].(string)
	if k.SessionValid != nil && !k.SessionValid(ctx, user, session) {
		return nil, fmt.Errorf("%w: session ended", ErrInvalidToken)
	}
	id := &fn.Identity{Subject: user, SessionID: session, Issuer: iss, TokenIdentifier: iss + "|" + sub}
	if exp != nil {
		id.ExpiresAt = exp.Time
	}
	return id, nil
}

// JWKS is the public key set (/.well-known/jwks.json).
func (k *Keys) JWKS() []byte {
	pub := k.priv.PublicKey
	b, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{
		"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": k.kid,
		"x": base64.RawURLEncoding.EncodeToString(pad32(pub.X.Bytes())),
		"y": base64.RawURLEncoding.EncodeToString(pad32(pub.Y.Bytes())),
	}}})
	return b
}

func pad32(b []byte) []byte {
	if len(b) >= 32 {
		return b
	}
	out := make([]byte, 32)
	copy(out[32-len(b):], b)
	return out
}

// OpenIDConfiguration is /.well-known/openid-configuration.
func (k *Keys) OpenIDConfiguration() []byte {
	b, _ := json.Marshal(map[string]any{
		"issuer":                                k.Issuer,
		"jwks_uri":                              strings.TrimSuffix(k.Issuer, "/") + "/.well-known/jwks.json",
		"authorization_endpoint":                strings.TrimSuffix(k.Issuer, "/") + "/oauth/authorize",
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
	})
	return b
}
