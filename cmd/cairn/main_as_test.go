package main

import (
	"os"
	"testing"
)

// TestMain lets a test run this test binary as the cairn command (set
// CAIRN_TEST_AS_MAIN=1 and pass cairn's arguments after "--"): a test can
// then start cairn as a real process and kill it.
func TestMain(m *testing.M) {
	if os.Getenv("CAIRN_TEST_AS_MAIN") == "1" {
		args := os.Args[1:]
		for i, a := range args {
			if a == "--" {
				args = args[i+1:]
				break
			}
		}
		os.Args = append([]string{"cairn"}, args...)
		main()
		return
	}
	os.Exit(m.Run())
}
