package boot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tamavisor/boot/acpi"
	"tamavisor/boot/bootinfo"
	"tamavisor/vmx"
)

// The dumps in testdata were recorded by booting the image in QEMU and Bochs
// with tamavisor.dump=boot (go run ./cmd/testbed capture): what the boot
// loaders, firmware and CPU models really hand over. These tests replay
// them through the same code the hypervisor runs at boot.
var recorded = []struct {
	name      string
	protocol  bootinfo.Protocol
	loader    string
	availMiB  uint64 // RAM the memory map reports as available
	cpus      int    // usable processors in the MADT
	vendor    string
	vmx       bool // VT-x usable: EPT and unrestricted guest
	pmTimer   bool // the FADT describes an ACPI PM timer
	s5        bool // the DSDT has \_S5
	rsdpFound string
}{
	{"qemu-pc-pvh", bootinfo.PVH, "", 511, 2, VendorAMD, false, true, true, "PVH rsdp_paddr"},
	{"qemu-q35-pvh", bootinfo.PVH, "", 511, 2, VendorAMD, false, true, true, "PVH rsdp_paddr"},
	{"qemu-microvm-pvh", bootinfo.PVH, "", 511, 2, VendorAMD, false, false, true, "PVH rsdp_paddr"},
	{"qemu-pc-grub-multiboot2", bootinfo.Multiboot2, "GRUB 2.06-13+deb12u2", 511, 2, VendorAMD, false, true, true, "Multiboot2 tag"},
	{"qemu-pc-grub-multiboot", bootinfo.Multiboot, "GRUB 2.06-13+deb12u2", 511, 2, VendorAMD, false, true, true, "BIOS search"},
	{"qemu-q35-uefi-multiboot2", bootinfo.Multiboot2, "GRUB 2.06-13+deb12u2", 505, 2, VendorAMD, false, true, true, "Multiboot2 tag"},
	{"bochs-skylake-x-grub-multiboot2", bootinfo.Multiboot2, "GRUB 2.06-13+deb12u2", 511, 2, VendorIntel, true, true, true, "Multiboot2 tag"},
	{"bochs-haswell-grub-multiboot", bootinfo.Multiboot, "GRUB 2.06-13+deb12u2", 511, 1, VendorIntel, true, true, true, "BIOS search"},
}

func loadDump(t *testing.T, name string) *Dump {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".dump"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := ParseDump(f)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRecordedBoots(t *testing.T) {
	for _, tc := range recorded {
		t.Run(tc.name, func(t *testing.T) {
			d := loadDump(t, tc.name)
			if d.Overflow != 0 {
				t.Errorf("snapshot overflow %#x", d.Overflow)
			}
			snap, err := bootinfo.ParseSnapshot(d.Snapshot)
			if err != nil {
				t.Fatal(err)
			}
			info, err := bootinfo.Parse(d.Magic, d.Info, snap)
			if err != nil {
				t.Fatal(err)
			}
			if info.Protocol != tc.protocol || info.Loader != tc.loader || info.Cmdline != "tamavisor.dump=boot" {
				t.Errorf("boot info: %v from %q, command line %q", info.Protocol, info.Loader, info.Cmdline)
			}
			if got := info.AvailableBytes() >> 20; got != tc.availMiB {
				t.Errorf("available RAM %d MiB, want %d", got, tc.availMiB)
			}
			if err := CheckRegion(info.AvailableRegions()); err != nil {
				t.Errorf("CheckRegion: %v", err)
			}
			frames, err := NewFrameAllocator(info, 4<<30)
			if err != nil {
				t.Fatal(err)
			}
			// Everything available outside the first MiB and the
			// hypervisor's region is handed to the allocator.
			want := (tc.availMiB<<20 - RAMSize - 1<<20) / 4096
			if got := uint64(frames.FreeFrames()); got < want-256 || got > want+256 {
				t.Errorf("%d free frames, want about %d", got, want)
			}
			for _, r := range frames.Ranges() {
				if r.Start < LowMemory || r.Start < RAMEnd && r.End > RAMStart {
					t.Errorf("allocator manages %v, which overlaps the first MiB or the hypervisor", r)
				}
			}

			// ACPI, through the same RSDP search as at boot. Bytes
			// nobody recorded read as zero, which the BIOS search
			// tolerates since the recorded RSDP is where it looks.
			tables, err := LoadACPI(info, d.Mem, nil)
			if err != nil {
				t.Fatalf("LoadACPI: %v", err)
			}
			switch {
			case info.RSDP != nil:
				if tc.rsdpFound != "Multiboot2 tag" {
					t.Errorf("RSDP from a Multiboot2 tag, want %s", tc.rsdpFound)
				}
			case info.RSDPAddr != 0:
				if tc.rsdpFound != "PVH rsdp_paddr" {
					t.Errorf("RSDP from PVH, want %s", tc.rsdpFound)
				}
			default:
				if tc.rsdpFound != "BIOS search" {
					t.Errorf("RSDP by BIOS search, want %s", tc.rsdpFound)
				}
			}
			if tables.OEMID() != acpi.OEMIDBochs {
				t.Errorf("OEM ID %q", tables.OEMID())
			}
			if len(tables.Warnings) != 0 {
				t.Errorf("ACPI warnings: %q", tables.Warnings)
			}
			madt, err := tables.MADT()
			if err != nil {
				t.Fatal(err)
			}
			if got := len(madt.CPUs()); got != tc.cpus {
				t.Errorf("%d CPUs in the MADT, want %d", got, tc.cpus)
			}
			fadt, err := tables.FADT()
			if err != nil {
				t.Fatal(err)
			}
			if (fadt.PMTimerPort != 0) != tc.pmTimer {
				t.Errorf("PM timer port %#x, want one: %v", fadt.PMTimerPort, tc.pmTimer)
			}
			if _, _, err := tables.S5(); (err == nil) != tc.s5 {
				t.Errorf("S5: %v, want one: %v", err, tc.s5)
			}

			// The CPU and its virtualization capabilities.
			c := IdentifyCPU(d.CPUIDFunc())
			if c.Vendor != tc.vendor || c.Brand == "" || !c.Pages1G {
				t.Errorf("CPU %s, 1G pages %v", c, c.Pages1G)
			}
			st, _, msg := vmx.FeatureControlState(c.VMX, d.MSR[vmx.MSRFeatureControl], nil)
			if (st == vmx.StatusEnabled) != tc.vmx {
				t.Errorf("VMX: %s", msg)
			}
			if tc.vmx {
				caps, err := vmx.ReadCaps(d.ReadMSR)
				if err != nil {
					t.Fatal(err)
				}
				if !caps.HasEPT() || !caps.HasUnrestrictedGuest() || !caps.HasPreemptionTimer() || !caps.HasEPTWB() {
					t.Errorf("VMX capabilities: %s", caps.Summary())
				}
			} else if !c.SVM {
				t.Errorf("QEMU TCG's -cpu max offers AMD-V, but CPUID says no SVM")
			}
		})
	}
}

// A dump prints and parses back to the same thing.
func TestDumpRoundTrip(t *testing.T) {
	d := loadDump(t, "qemu-pc-pvh")
	var text strings.Builder
	for _, line := range d.DumpLines() {
		text.WriteString("hv: " + line + "\n")
	}
	d2, err := ParseDump(strings.NewReader(text.String()))
	if err != nil {
		t.Fatal(err)
	}
	if d2.Magic != d.Magic || d2.Info != d.Info || string(d2.Snapshot) != string(d.Snapshot) ||
		len(d2.Mem) != len(d.Mem) || len(d2.CPUID) != len(d.CPUID) || len(d2.MSR) != len(d.MSR) {
		t.Errorf("round trip differs")
	}
	for a, b := range d.Mem {
		if string(d2.Mem[a]) != string(b) {
			t.Errorf("mem at %#x differs", a)
		}
	}
}

func TestParseDumpErrors(t *testing.T) {
	for _, text := range []string{
		"",
		"hv: dump: boot magic=0x1 info=0x2 overflow=0\n",
		"hv: dump: boot magic=0x1\nhv: dump: snapshot 0x8 00\nhv: dump: end\n",
		"hv: dump: boot magic=0x1\nhv: dump: mem 0x1000 zz\nhv: dump: end\n",
		"hv: dump: boot magic=0x1\nhv: dump: cpuid 0x1 0x0 1 2 3\nhv: dump: end\n",
		"hv: dump: boot magic=0x1\nhv: dump: bogus\nhv: dump: end\n",
	} {
		if _, err := ParseDump(strings.NewReader(text)); err == nil {
			t.Errorf("ParseDump(%q): no error", text)
		}
	}
}

func TestSparseMemory(t *testing.T) {
	m := SparseMemory{0x1000: []byte{1, 2, 3, 4}, 0x1004: []byte{5, 6}}
	b := make([]byte, 8)
	if _, err := m.ReadAt(b, 0xffe); err != nil {
		t.Fatal(err)
	}
	if want := []byte{0, 0, 1, 2, 3, 4, 5, 6}; string(b) != string(want) {
		t.Errorf("ReadAt = %v, want %v", b, want)
	}
}
