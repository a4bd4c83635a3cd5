package sqlstore

import (
	"crypto/rand"
	"time"
)

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// IDLength is the length of every document id. Opencom's widget validates
// workspace ids against Convex's shape (32 characters of [a-z0-9]), so ours
// must look the same.
const IDLength = 32

// idTimeAlphabet is the same characters in byte order, so that the time
// prefix sorts as the time does.
const idTimeAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

// idTimeChars is the length of the time prefix: base36 milliseconds since
// 1970 fit in 9 characters until the year 5138.
const idTimeChars = 9

// NewID returns a document id: 9 characters of the current time in base36
// milliseconds, then 23 characters of [a-z0-9] drawn from the OS CSPRNG
// with rejection sampling (~119 bits of entropy, still unguessable).
//
// The time prefix makes ids of new documents sort after older ones, so a
// table's _id index grows at its end: a commit touches one index page
// instead of one page per inserted document, which is most of the WAL
// written by a small insert.
func NewID() string { return newIDAt(time.Now()) }

func newIDAt(t time.Time) string {
	out := make([]byte, IDLength)
	ms := uint64(max(t.UnixMilli(), 0))
	for i := idTimeChars - 1; i >= 0; i-- {
		out[i] = idTimeAlphabet[ms%36]
		ms /= 36
	}
	n := idTimeChars
	var buf [48]byte
	for n < IDLength {
		if _, err := rand.Read(buf[:]); err != nil {
			panic("sqlstore: crypto/rand failed: " + err.Error())
		}
		for _, b := range buf {
			// 252 = 7*36: reject the tail so the modulo stays uniform.
			if b >= 252 {
				continue
			}
			out[n] = idAlphabet[int(b)%36]
			n++
			if n == IDLength {
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
