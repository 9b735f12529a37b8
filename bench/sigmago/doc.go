// Package sigmago compares cairn's Sigma engine with
// github.com/bradleyjkemp/sigma-go evaluated rule by rule, on the same
// SigmaHQ rules and the same events. It is a nested module so that
// sigma-go never enters cairn's own go.mod; all its code is in tests.
package sigmago
