/* Hides CPU instruction-set extensions from user-space CPUID.
 *
 * Loaded with LD_PRELOAD, it turns on CPUID faulting for the process
 * (arch_prctl(ARCH_SET_CPUID, 0), Linux >= 4.12, CPUs with "cpuid_fault"):
 * every CPUID instruction then raises SIGSEGV, and the handler below runs the
 * real CPUID, clears the masked feature bits and resumes after the
 * instruction. Libraries that pick kernels from CPUID (XNNPACK via cpuinfo,
 * oneDNN, OpenBLAS) then choose what they would choose on a CPU without those
 * extensions. The instructions themselves still execute on this CPU's cores,
 * so this emulates a kernel choice, not another microarchitecture.
 *
 * DSTYLE_TF_ISA_MASK selects the extensions to hide: "avx2" (the default)
 * hides AVX-512, AVX-VNNI, AVX-IFMA, AVX10 and AMX, leaving an AVX2 + FMA CPU.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef ARCH_GET_CPUID
#define ARCH_GET_CPUID 0x1011
#define ARCH_SET_CPUID 0x1012
#endif

static volatile int isa_mask_active = 0;

/* The program's own SIGSEGV handler (Python's faulthandler, say): kept here
 * and called for real faults, while this library's handler stays installed. */
typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
static sigaction_fn real_sigaction = NULL;
static struct sigaction program_action;  /* zero: SIG_DFL */

static long arch_prctl_(int code, unsigned long arg) {
  return syscall(SYS_arch_prctl, code, arg);
}

static void real_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t r[4]) {
  __asm__ volatile("cpuid"
                   : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                   : "a"(leaf), "c"(subleaf));
}

static void mask_avx2(uint32_t leaf, uint32_t subleaf, uint32_t r[4]) {
  if (leaf == 7 && subleaf == 0) {
    /* EBX: AVX512F(16) DQ(17) IFMA(21) PF(26) ER(27) CD(28) BW(30) VL(31). */
    r[1] &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) |
              (1u << 28) | (1u << 30) | (1u << 31));
    /* ECX: VBMI(1) VBMI2(6) VNNI(11) BITALG(12) VPOPCNTDQ(14). */
    r[2] &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
    /* EDX: 4VNNIW(2) 4FMAPS(3) VP2INTERSECT(8) AMX-BF16(22) FP16(23)
     * AMX-TILE(24) AMX-INT8(25). */
    r[3] &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) |
              (1u << 24) | (1u << 25));
  } else if (leaf == 7 && subleaf == 1) {
    /* EAX: AVX-VNNI(4) AVX512-BF16(5) AMX-FP16(21) AVX-IFMA(23). */
    r[0] &= ~((1u << 4) | (1u << 5) | (1u << 21) | (1u << 23));
    /* EDX: AVX-VNNI-INT8(4) AVX-NE-CONVERT(5) AMX-COMPLEX(8)
     * AVX-VNNI-INT16(10) AVX10(19). */
    r[3] &= ~((1u << 4) | (1u << 5) | (1u << 8) | (1u << 10) | (1u << 19));
  } else if (leaf == 0x1d || leaf == 0x1e || leaf == 0x24) {
    /* AMX tile and AVX10 description leaves. */
    r[0] = r[1] = r[2] = r[3] = 0;
  }
}

static void fall_through(int sig, siginfo_t *info, void *context) {
  struct sigaction action = program_action;
  if (action.sa_flags & SA_SIGINFO) {
    action.sa_sigaction(sig, info, context);
  } else if (action.sa_handler != SIG_DFL && action.sa_handler != SIG_IGN) {
    action.sa_handler(sig);
  } else {
    /* Die of the fault as without this library: the instruction faults again. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    real_sigaction(SIGSEGV, &dfl, NULL);
  }
}

static void on_segv(int sig, siginfo_t *info, void *context) {
  ucontext_t *uc = (ucontext_t *)context;
  greg_t *g = uc->uc_mcontext.gregs;
  const unsigned char *ip = (const unsigned char *)g[REG_RIP];
  if (info->si_code != SI_KERNEL || !(ip[0] == 0x0f && ip[1] == 0xa2)) {
    fall_through(sig, info, context);
    return;
  }
  uint32_t leaf = (uint32_t)g[REG_RAX], subleaf = (uint32_t)g[REG_RCX];
  uint32_t r[4];
  arch_prctl_(ARCH_SET_CPUID, 1);
  real_cpuid(leaf, subleaf, r);
  arch_prctl_(ARCH_SET_CPUID, 0);
  mask_avx2(leaf, subleaf, r);
  g[REG_RAX] = r[0];
  g[REG_RBX] = r[1];
  g[REG_RCX] = r[2];
  g[REG_RDX] = r[3];
  g[REG_RIP] += 2;
}

/* SIGSEGV handlers the program installs are recorded, not installed. */
int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  if (!real_sigaction) real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
  if (sig != SIGSEGV || !isa_mask_active) return real_sigaction(sig, act, old);
  if (old) *old = program_action;
  if (act) program_action = *act;
  return 0;
}

sighandler_t signal(int sig, sighandler_t handler) {
  struct sigaction act, old;
  memset(&act, 0, sizeof act);
  act.sa_handler = handler;
  act.sa_flags = SA_RESTART;
  sigemptyset(&act.sa_mask);
  if (sigaction(sig, &act, &old) != 0) return SIG_ERR;
  return (old.sa_flags & SA_SIGINFO) ? (sighandler_t)old.sa_sigaction : old.sa_handler;
}

__attribute__((constructor)) static void isa_mask_init(void) {
  const char *mask = getenv("DSTYLE_TF_ISA_MASK");
  if (mask && strcmp(mask, "avx2") != 0) {
    fprintf(stderr, "isa_mask: unknown DSTYLE_TF_ISA_MASK=%s (known: avx2)\n", mask);
    _exit(2);
  }
  real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (real_sigaction(SIGSEGV, &sa, NULL) != 0 || arch_prctl_(ARCH_SET_CPUID, 0) != 0) {
    fprintf(stderr, "isa_mask: this CPU or kernel cannot fault on CPUID "
                    "(no cpuid_fault): nothing can be hidden\n");
    _exit(3);
  }
  isa_mask_active = 1;
}

/* Lets a caller check that the library is loaded and active. */
int dstyle_tf_isa_mask_active(void) { return isa_mask_active; }
