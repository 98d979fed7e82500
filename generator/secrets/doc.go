// Package secrets turns a spec's Secrets into SOPS-encrypted manifests (age recipients, only data and stringData
// encrypted), keeping an existing file byte for byte when its decrypted content and recipients have not changed, and
// never letting a plaintext value reach a file, a log, an error or a diff.
package secrets
