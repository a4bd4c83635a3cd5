package sqlstore

import (
	"crypto/rand"
)

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// IDLength is the length of every document id. Opencom's widget validates
// workspace ids against Convex's shape (32 characters of [a-z0-9]), so ours
// must look the same.
const IDLength = 32

// NewID returns an unguessable document id: 32 characters of [a-z0-9]
// drawn from the OS CSPRNG with rejection sampling, so every character is
// uniform (~165 bits of entropy).
func NewID() string {
	out := make([]byte, 0, IDLength)
	var buf [64]byte
	for len(out) < IDLength {
		if _, err := rand.Read(buf[:]); err != nil {
			panic("sqlstore: crypto/rand failed: " + err.Error())
		}
		for _, b := range buf {
			// 252 = 7*36: reject the tail so the modulo stays uniform.
			if b >= 252 {
				continue
			}
			out = append(out, idAlphabet[int(b)%36])
			if len(out) == IDLength {
				break
			}
		}
	}
	return string(out)
}

// IsID reports whether s has the shape of a document id.
func IsID(s string) bool {
	if len(s) != IDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}
