// Package smbios reads SMBIOS (a `dmidecode --dump-bin` file, the Linux
// /sys/firmware/dmi/tables pair, /sys/class/dmi/id, or a fields file) and
// computes the computer hardware IDs (CHIDs) Windows derives from it.
package smbios
