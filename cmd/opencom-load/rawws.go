package main

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"
)

// rawWS is the tool's WebSocket client: a handshake and RFC 6455 framing
// over a plain TCP connection, nothing more. Thousands of them share two
// cores with the server under test, so every microsecond a client spends
// per message is taken from the server's measurement; a general-purpose
// client (locks, contexts, per-message readers) costs about twice what
// the socket itself does.
type rawWS struct {
	conn net.Conn
	br   *bufio.Reader
	wmu  sync.Mutex
	wbuf []byte
}

const rawReadLimit = 64 << 20

var errRawClosed = errors.New("websocket closed by the server")

// dialRaw opens ws://host/path and completes the opening handshake.
func dialRaw(rawURL string, timeout time.Duration) (*rawWS, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "ws" {
		return nil, fmt.Errorf("only ws:// URLs, not %q", rawURL)
	}
	conn, err := net.DialTimeout("tcp", u.Host, timeout)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(timeout))
	var nonce [16]byte
	rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(conn, 512)
	status, err := br.ReadString('\n')
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if !strings.HasPrefix(status, "HTTP/1.1 101 ") {
		conn.Close()
		return nil, fmt.Errorf("handshake: %q", strings.TrimSpace(status))
	}
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	want := base64.StdEncoding.EncodeToString(h[:])
	accepted := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("handshake: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Sec-WebSocket-Accept") && strings.TrimSpace(v) == want {
			accepted = true
		}
	}
	if !accepted {
		conn.Close()
		return nil, errors.New("handshake: missing or wrong Sec-WebSocket-Accept")
	}
	conn.SetDeadline(time.Time{})
	return &rawWS{conn: conn, br: br}, nil
}

// writeFrame sends one final, masked frame (clients must mask).
func (w *rawWS) writeFrame(opcode byte, p []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	b := append(w.wbuf[:0], 0x80|opcode)
	switch n := len(p); {
	case n <= 125:
		b = append(b, 0x80|byte(n))
	case n <= 0xFFFF:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var mask [4]byte
	rand.Read(mask[:])
	b = append(b, mask[:]...)
	start := len(b)
	b = append(b, p...)
	for i := range b[start:] {
		b[start+i] ^= mask[i&3]
	}
	w.wbuf = b
	_, err := w.conn.Write(b)
	return err
}

func (w *rawWS) writeText(p []byte) error { return w.writeFrame(0x1, p) }

// readMessage returns the next data message, reusing buf. It answers
// pings and ends on a close frame (errRawClosed).
func (w *rawWS) readMessage(buf []byte) ([]byte, error) {
	msg := buf[:0]
	for {
		var hdr [2]byte
		if _, err := io.ReadFull(w.br, hdr[:]); err != nil {
			return nil, err
		}
		fin, opcode := hdr[0]&0x80 != 0, hdr[0]&0x0F
		if hdr[1]&0x80 != 0 {
			return nil, errors.New("masked frame from the server")
		}
		n := uint64(hdr[1] & 0x7F)
		switch n {
		case 126:
			var ext [2]byte
			if _, err := io.ReadFull(w.br, ext[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(ext[:]))
		case 127:
			var ext [8]byte
			if _, err := io.ReadFull(w.br, ext[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(ext[:])
		}
		if n > rawReadLimit || uint64(len(msg))+n > rawReadLimit {
			return nil, fmt.Errorf("message over %d bytes", rawReadLimit)
		}
		if opcode >= 0x8 { // control frame: never fragmented, at most 125 bytes
			var p [125]byte
			if n > 125 || !fin {
				return nil, errors.New("bad control frame")
			}
			if _, err := io.ReadFull(w.br, p[:n]); err != nil {
				return nil, err
			}
			switch opcode {
			case 0x8:
				w.writeFrame(0x8, p[:min(n, 2)])
				return nil, errRawClosed
			case 0x9:
				if err := w.writeFrame(0xA, p[:n]); err != nil {
					return nil, err
				}
			}
			continue
		}
		start := len(msg)
		msg = append(msg, make([]byte, n)...)
		if _, err := io.ReadFull(w.br, msg[start:]); err != nil {
			return nil, err
		}
		if fin {
			return msg, nil
		}
	}
}

func (w *rawWS) close() error {
	w.writeFrame(0x8, []byte{0x03, 0xE8}) // 1000, normal closure
	return w.conn.Close()
}
