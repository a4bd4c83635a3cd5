package main

import (
	"github.com/opencom-go/opencom/server"
	"github.com/opencom-go/opencom/server/attachments"
)

// The supportAttachments module (generateUploadUrl, finalizeUpload, the
// staged-upload cleanup) and its storage endpoints (POST
// /api/storage/upload, GET /api/storage/{token}). server/accessmatrix
// loads the same function (entries_attachments.go).
func init() {
	server.Modules = append(server.Modules, attachments.Module)
	server.Routes = append(server.Routes, attachments.Routes)
}
