package sync

import (
	"bufio"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	gosync "sync"
)

// The sync endpoint writes its data frames itself, straight to the
// hijacked socket: coder/websocket's writer copies each frame into a 4 KB
// buffer of the socket's own (cold, when one commit fans out to thousands
// of sockets) behind a channel-based lock. coder/websocket still does the
// handshake, reads, and writes control frames (ping, pong, close).

// frameConn is the hijacked socket. Both writers go through its lock,
// one whole frame per Write: coder/websocket flushes a control frame
// (at most 131 bytes, in a buffer of controlBuf) in one Write, and the
// data frames written here are a single Write each, so frames never
// interleave.
type frameConn struct {
	net.Conn
	mu gosync.Mutex
}

func (f *frameConn) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Conn.Write(p)
}

// controlBuf is the size of coder/websocket's write buffer: room for the
// largest control frame (2 header bytes + 125 payload bytes).
const controlBuf = 256

// hijackCapture hands coder/websocket a frameConn when it hijacks the
// connection, and keeps it.
type hijackCapture struct {
	http.ResponseWriter
	fc *frameConn
}

func (h *hijackCapture) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if brw.Writer.Buffered() > 0 {
		if err := brw.Writer.Flush(); err != nil {
			nc.Close()
			return nil, nil, err
		}
	}
	h.fc = &frameConn{Conn: nc}
	return h.fc, bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(h.fc, controlBuf)), nil
}

func (h *hijackCapture) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// frameHeaderMax is the longest server frame header (no mask): buffers
// passed to writeTextFrame keep this much room before the payload.
const frameHeaderMax = 10

var errFrameRoom = errors.New("sync: frame buffer without header room")

// writeTextFrame writes buf[frameHeaderMax:] as one final text frame,
// putting its header into the room before it.
func (f *frameConn) writeTextFrame(buf []byte) error {
	if len(buf) < frameHeaderMax {
		return errFrameRoom
	}
	start := putTextHeader(buf[:frameHeaderMax], len(buf)-frameHeaderMax)
	_, err := f.Write(buf[start:])
	return err
}

// putTextHeader writes the header of an unmasked final text frame with an
// n-byte payload so that it ends at the end of room, and returns where it
// starts.
func putTextHeader(room []byte, n int) int {
	const finText = 0x81
	switch {
	case n <= 125:
		room[8], room[9] = finText, byte(n)
		return 8
	case n <= 0xFFFF:
		room[6], room[7] = finText, 126
		binary.BigEndian.PutUint16(room[8:], uint16(n))
		return 6
	default:
		room[0], room[1] = finText, 127
		binary.BigEndian.PutUint64(room[2:], uint64(n))
		return 0
	}
}
