package main

import (
	"errors"
	"io"
)

// cmdAdmin is filled in by the identity module (opencom admin create EMAIL).
var cmdAdminImpl func(args []string, stdin io.Reader, stdout, stderr io.Writer) error

func cmdAdmin(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if cmdAdminImpl == nil {
		return usageError{errors.New("admin commands are not available in this build")}
	}
	return cmdAdminImpl(args, stdin, stdout, stderr)
}
