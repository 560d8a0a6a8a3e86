// composecheck loads compose files the way Docker Compose v2 does (compose-go: the Compose
// Specification's JSON schema, interpolation, then the model's consistency checks, e.g.
// depends_on naming a service that exists) and fails on any error. It needs no Docker engine.
//
//	composecheck FILE...   exit 0 when every file is valid, 1 (with the reason) otherwise
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

func check(file string) error {
	// A fixed, empty environment: the file must be valid with every ${VAR:-default} at its
	// default, whatever the shell running the check has set.
	options, err := cli.NewProjectOptions([]string{file},
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithName("composecheck"),
		cli.WithEnv(nil),
		cli.WithConsistency(true),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
	)
	if err != nil {
		return err
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		return err
	}
	if len(project.Services) == 0 {
		return fmt.Errorf("no services")
	}
	fmt.Printf("%s: valid (%d services)\n", file, len(project.Services))
	return nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: composecheck FILE...")
		os.Exit(2)
	}
	failed := false
	for _, file := range os.Args[1:] {
		if err := check(file); err != nil {
			fmt.Fprintf(os.Stderr, "%s: invalid: %v\n", file, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}
