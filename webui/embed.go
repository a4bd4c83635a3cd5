// Package webui embeds the built agent web app (dist/, from app/) and the
// visitor widget (widget/dist/, from widget/). Both are committed so that
// `go build` needs no Node.
package webui

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

//go:embed all:widget/dist
var widget embed.FS

// Dist is the agent app, served at /.
func Dist() fs.FS { return sub(dist, "dist") }

// Widget is the visitor widget, served at /widget.js and /widget/*.
func Widget() fs.FS { return sub(widget, "widget/dist") }

func sub(f embed.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return s
}
