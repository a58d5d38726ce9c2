#!/usr/bin/env python3
"""Every options field, written the natural C ways, builds TF's model or fails loudly.

The structs and fields come from the public headers, so a new field is covered
the day it is added (and a new struct fails here until harness.c builds with
it). For each field and each natural spelling of a value (true, false, 0, 1,
0.9, NULL by the field's C type) two programs are written: a compound literal
`&(T){.field = v}` and `TG_OPTS(T, o, .field = v)`. Both are compiled with gcc
and clang, at their default flags and at -Wall -Wextra; whatever compiles runs
(each case in its own process) through harness.c, which builds a small graph
with the options and reports what it built.

A case passes when it did not compile, or when it ran and:
  - a struct with an INIT macro given as a compound literal was refused with
    INVALID_ARGUMENT naming the macro;
  - otherwise it built, or failed with an error naming the field (or TF's own
    error for that value, listed in EXPECT); and
  - a spelling equal to the field's default (zero for zero-safe structs, the
    INIT macro's value otherwise) built exactly what NULL options build; and
  - where EXPECT knows what TF builds for that keyword and value, it matches
    (numbers computed by hand from the 4x3 input 1..12: column 0 is
    1, 4, 7, 10, mean 5.5, biased variance 11.25).

Usage: options_test.py SRCDIR LIBTGRAPH_A [SANITIZE [MPI_LIBS]]
SANITIZE (meson's b_sanitize, e.g. address,undefined) builds the cases with
those sanitizers; they then run with gcc only (the library was built by gcc,
and clang's sanitizer runtimes differ), while clang still compiles them all.
"""
import os
import re
import subprocess
import sys
import tempfile

SRC, LIBA = sys.argv[1], sys.argv[2]
SANITIZE = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] not in ("", "none") else None
EXTRA = [f"-fsanitize={SANITIZE}"] if SANITIZE else []
# The MPI part's link flags when it was built (batch_norm's sync option
# reaches it from the layers, so the harness links it).
MPI_LIBS = sys.argv[4].split() if len(sys.argv) > 4 else []
HEADERS = os.path.join(SRC, "include", "tgraph")
COMPILERS = ["gcc", "clang"]
FLAGSETS = [[], ["-Wall", "-Wextra"]]
BN_EPS = 0.001


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def parse_structs():
    """{struct: [(field, ctype)]} for every public options struct."""
    structs = {}
    for name in sorted(os.listdir(HEADERS)):
        text = strip_comments(open(os.path.join(HEADERS, name)).read())
        for m in re.finditer(r"typedef struct (tg_\w+) \{(.*?)\} \1;", text, re.S):
            struct, body = m.group(1), m.group(2)
            if not (struct.endswith("_opts") or struct.endswith("_options") or struct == "tg_renorm_clipping"):
                continue
            fields = []
            for decl in body.split(";"):
                decl = " ".join(decl.split())
                if not decl:
                    continue
                base = re.match(r"((?:const\s+)?[\w]+(?:\s*\*\s*(?:const\s*)?)*)", decl).group(1)
                names = decl[len(base):].split(",")
                for n in names:
                    n = n.strip()
                    stars = n.count("*")
                    ident = re.sub(r"[\*\s]|\[.*\]", "", n)
                    array = "[" in n
                    ctype = base.strip() + "*" * stars + ("[]" if array else "")
                    if ident != "tg__init":
                        fields.append((ident, ctype))
            structs[struct] = fields
    return structs


def defaults():
    """{struct: {field: text}} from the TG__DEFAULTS_ macros (INIT structs)."""
    out = {}
    for name in os.listdir(HEADERS):
        text = open(os.path.join(HEADERS, name)).read().replace("\\\n", " ")
        for m in re.finditer(r"#define TG__DEFAULTS_(tg_\w+) (.*)", text):
            alias = re.fullmatch(r"\s*TG__DEFAULTS_(tg_\w+)\s*", m.group(2))
            if alias:
                out[m.group(1)] = out.get(alias.group(1), {})
                continue
            vals = {}
            for f, v in re.findall(r"\.(\w+) = ([^,{}]+|\{[^}]*\}|TG_\w+)", m.group(2)):
                vals[f] = v.strip()
            out[m.group(1)] = vals
    return out


ENUMS = ("tg_padding", "tg_data_format", "tg_reuse", "tg_dtype", "tg_reduction", "tg_checkpoint_format")


def kind(ctype):
    if ctype.endswith("[]"):
        return "array"
    if ctype in ("const char *const *", "const int *"):
        return "list"
    if "*" in ctype or ctype.endswith("_fn"):
        return "pointer"
    if ctype == "bool":
        return "bool"
    if ctype == "tg_optional_bool":
        return "optbool"
    if ctype in ("double", "float"):
        return "float"
    if ctype in ("int", "int64_t", "unsigned") or ctype in ENUMS:
        return "int"
    return "struct"


# The natural spellings of a TF keyword's values, by the field's C type.
SPELLINGS = {
    "bool": ["true", "false", "0", "1"],
    "optbool": ["true", "false", "0", "1"],
    "float": ["0", "0.9", "1"],
    "int": ["0", "1"],
    "pointer": ["NULL", "0", "0.9"],
    # a list written without its count: refused naming the field, or (a
    # field whose default count is not 0) taken with that count
    "list": ["NULL", "0", "LIST"],
    "array": ["0", "1"],
    "struct": ["0"],
}

# What TF builds, where the harness can see it: (struct, field, spelling) ->
# {observation: value}; "error" means TF refuses that value with this text.
MM_DEFAULT = 0.001 * 5.5
Y00_TRAIN = -4.5 / (11.25 + BN_EPS) ** 0.5
Y00_INFER = 1 / (1 + BN_EPS) ** 0.5
BN = "tg_layers_batch_norm_opts"
TBN = "tg_tf_layers_batch_norm_opts"
EXPECT = {}
for off in ("false", "0"):
    EXPECT[(BN, "is_training", off)] = {"n_update_ops": "0", "mm0": 0.0, "y00": Y00_INFER}
    EXPECT[(BN, "center", off)] = {"vars": "BatchNorm/moving_mean,BatchNorm/moving_variance"}
    EXPECT[(BN, "trainable", off)] = {"n_trainable": "0"}
    EXPECT[(BN, "fused", off)] = {"n_update_ops": "2", "mm0": MM_DEFAULT, "y00": Y00_TRAIN}
    EXPECT[(TBN, "center", off)] = {"n_trainable": "1"}
    EXPECT[(TBN, "scale", off)] = {"n_trainable": "1"}
    EXPECT[(TBN, "trainable", off)] = {"n_trainable": "0"}
    EXPECT[("tg_get_variable_opts", "trainable", off)] = {"vars": "w"}
    EXPECT[("tg_layers_fc_opts", "trainable", off)] = {"n_trainable": "0"}
    EXPECT[("tg_tf_layers_dense_opts", "use_bias", off)] = {"vars": "dense/kernel(t)"}
    EXPECT[("tg_tf_layers_dense_opts", "trainable", off)] = {"n_trainable": "0"}
    EXPECT[("tg_layers_dropout_opts", "is_training", off)] = {"out_op": "Identity"}
    EXPECT[("tg_dropout_opts", "training", off)] = {"out_op": "Placeholder"}
    EXPECT[("tg_assign_moving_average_opts", "zero_debias", off)] = {"vars": "v(t)"}
    EXPECT[("tg_layer_call_opts", "training", off)] = {"out_op": "Identity"}
    EXPECT[("tg_layer_add_variable_opts", "trainable", off)] = {"vars": "dense/extra"}
for on in ("true", "1"):
    EXPECT[(BN, "scale", on)] = {"n_trainable": "2"}
    EXPECT[(TBN, "training", on)] = {"n_update_ops": "2", "mm0": 0.01 * 5.5, "y00": Y00_TRAIN}
    EXPECT[("tg_layer_call_opts", "training", on)] = {"out_op": "Mul"}
    EXPECT[("tg_reduce_opts", "keep_dims", on)] = {"out_shape": "(1,1)"}
EXPECT[(BN, "decay", "0")] = {"mm0": 5.5}
EXPECT[(BN, "decay", "0.9")] = {"mm0": 0.1 * 5.5}
EXPECT[(BN, "decay", "1")] = {"mm0": 0.0}
EXPECT[(BN, "epsilon", "0.9")] = {"y00": -4.5 / (11.25 + 0.9) ** 0.5}
EXPECT[(BN, "epsilon", "1")] = {"y00": -4.5 / (11.25 + 1) ** 0.5}
EXPECT[(BN, "updates_collections", "NULL")] = {"n_update_ops": "0", "mm0": MM_DEFAULT}
EXPECT[(BN, "updates_collections", "0")] = {"n_update_ops": "0", "mm0": MM_DEFAULT}
for null in ("NULL", "0"):
    EXPECT[("tg_layers_fc_opts", "activation_fn", null)] = {"out_op": "BiasAdd"}
    EXPECT[("tg_layers_fc_opts", "biases_initializer", null)] = {"vars": "fully_connected/weights(t)"}
    EXPECT[("tg_layers_conv2d_opts", "activation_fn", null)] = {"out_op": "BiasAdd"}
    EXPECT[("tg_loss_opts", "loss_collection", null)] = {"n_losses": "0"}
EXPECT[("tg_layers_dropout_opts", "keep_prob", "0")] = {"error": "rate must be a scalar tensor or a float in the range [0, 1)"}
EXPECT[("tg_dropout_opts", "rate", "1")] = {"error": "rate must be a scalar tensor or a float in the range [0, 1)"}
# dropout of ones: the largest output is 1 / (1 - rate) (the harness trains)
EXPECT[("tg_tf_layers_dropout_opts", "rate", "0")] = {"max": 1.0}
EXPECT[("tg_tf_layers_dropout_opts", "rate", "0.9")] = {"max": 10.0}
EXPECT[("tg_tf_layers_dropout_opts", "rate", "1")] = {"error": "rate must be a scalar tensor or a float in the range [0, 1)"}
EXPECT[("tg_dropout_opts", "rate", "0")] = {"max": 1.0}
EXPECT[("tg_dropout_opts", "rate", "0.9")] = {"max": 10.0}
EXPECT[("tg_layers_dropout_opts", "keep_prob", "0.9")] = {"max": 1 / 0.9}
EXPECT[("tg_layers_dropout_opts", "keep_prob", "1")] = {"max": 1.0}
EXPECT[("tg_train_adagrad_opts", "initial_accumulator_value", "0")] = {"error": "initial_accumulator_value must be positive"}
EXPECT[("tg_layers_pool2d_opts", "stride", "1")] = {"out_shape": "(1,7,7,1)"}  # TF's stride=1: (1, 1)
EXPECT[("tg_tf_layers_conv2d_opts", "strides", "1")] = {"out_shape": "(1,4,4,2)"}
# tf.Print of 1..4 run twice (the harness counts the printed lines)
EXPECT[("tg_print_opts", "first_n", "0")] = {"prints": "0"}
EXPECT[("tg_print_opts", "first_n", "1")] = {"prints": "1"}
EXPECT[("tg_print_opts", "summarize", "0")] = {"prints": "2", "text": "[...]"}
EXPECT[("tg_print_opts", "summarize", "1")] = {"prints": "2", "text": "[1...]"}
# The Saver: seven saves at global steps 1..7 (tf.train.Saver's max_to_keep,
# keep_checkpoint_every_n_hours, write_version, pad_step_number,
# save_relative_paths), and one save (saver.save's global_step, write_state).
def ckpt_files(steps, v2=True, pad=False, state=True):
    names = ["checkpoint"] if state else []
    for st in steps:
        p = f"ckpt-{st:08d}" if pad else f"ckpt-{st}"
        names += [p + ".data-00000-of-00001", p + ".index"] if v2 else [p]
    return ",".join(sorted(names))
SV, SO = "tg_saver_opts", "tg_save_opts"
EXPECT[(SV, "max_to_keep", "0")] = {"files": ckpt_files(range(1, 8))}   # 0 keeps all
EXPECT[(SV, "max_to_keep", "1")] = {"files": ckpt_files([7])}
EXPECT[(SV, "keep_checkpoint_every_n_hours", "0")] = {"files": ckpt_files(range(1, 8))}  # every evicted one kept
EXPECT[(SV, "format", "1")] = {"files": ckpt_files(range(3, 8), v2=False)}   # tgraph's one-file format
for on in ("true", "1"):
    EXPECT[(SV, "pad_step_number", on)] = {"files": ckpt_files(range(3, 8), pad=True)}
    EXPECT[(SV, "save_relative_paths", on)] = {"state_abs": "0"}
for off in ("false", "0"):
    EXPECT[(SO, "write_state", off)] = {"files": ckpt_files([], state=False).strip(",") +
                                        "ckpt.data-00000-of-00001,ckpt.index"}
EXPECT[(SO, "global_step", "0")] = {"files": ckpt_files([0])}
EXPECT[(SO, "global_step", "1")] = {"files": ckpt_files([1])}
# Values TF rejects as we do, with TF's words (the field is named by the text).
ERRORS_OK = {
    # data_format NCHW on the harness's NHWC input: TF's shape errors
    ("tg_fused_batch_norm_opts", "data_format", "1"): "channels of x",
    ("tg_tf_layers_conv2d_opts", "data_format", "1"): "Computed output size would be negative",
    ("tg_layers_conv2d_opts", "data_format", "1"): "Computed output size would be negative",
    ("tg_conv2d_opts", "data_format", "1"): "Computed output size would be negative",
    ("tg_layers_batch_norm_opts", "reuse", "1"): "reuse=True cannot be used without a name_or_scope",
    ("tg_layers_fc_opts", "reuse", "1"): "reuse=True cannot be used without a name_or_scope",
    ("tg_layers_conv2d_opts", "reuse", "1"): "reuse=True cannot be used without a name_or_scope",
    ("tg_get_variable_opts", "reuse", "1"): "does not exist",
    ("tg_tf_layers_dense_opts", "reuse", "1"): "does not exist",
    ("tg_tf_layers_conv2d_opts", "reuse", "1"): "does not exist",
    ("tg_variable_scope_opts", "reuse", "1"): "does not exist",
    ("tg_tf_layers_batch_norm_opts", "reuse", "1"): "does not exist",
    # sync=True in a build without MPI (with MPI the graph builds; its run
    # needs tg_mpi_init)
    ("tg_layers_batch_norm_opts", "sync", "true"): "sync=True needs tgraph built with MPI",
    ("tg_layers_batch_norm_opts", "sync", "1"): "sync=True needs tgraph built with MPI",
}
# Structs with arguments TF requires (no default): a case that leaves them
# out must fail naming them.
REQUIRED = {"tg_conv2d_opts": ("padding",), "tg_pool_opts": ("ksize", "padding"),
            "tg_dropout_opts": ("You must provide a rate to dropout",)}


def generate(structs, dflt):
    cases = []  # (id, struct, field, spelling, form, code)
    for struct, fields in sorted(structs.items()):
        cases.append((len(cases), struct, "", "", "null", f"tgo_{struct}(NULL, r);"))
        for field, ctype in fields:
            for sp in SPELLINGS[kind(ctype)]:
                v = sp
                if sp == "LIST":
                    v = '(const char *const[]){"extra"}' if "char" in ctype else "(const int[]){0}"
                lit = f"tgo_{struct}(&({struct}){{.{field} = {v}}}, r);"
                opts = f"TG_OPTS({struct}, o, .{field} = {v}); tgo_{struct}(&o, r);"
                cases.append((len(cases), struct, field, sp, "literal", lit))
                cases.append((len(cases), struct, field, sp, "tg_opts", opts))
    return cases


def write_cases(path, cases, keep):
    lines = ['#include "harness.h"', "typedef void (*tgo_fn)(tgo_result *r);"]
    first = len(lines) + 1
    for c in cases:
        body = c[5] if c[0] in keep else ""
        lines.append(f"static void case_{c[0]}(tgo_result *r) {{ (void)r; {body} }}")
    lines.append("const tgo_fn TGO_CASES[] = {" + ", ".join(f"case_{c[0]}" for c in cases) + "};")
    lines.append(f"const int TGO_N_CASES = {len(cases)};")
    open(path, "w").write("\n".join(lines) + "\n")
    return first


def compile_errors(cc, flags, path, first, n):
    """Case ids with a compile error (each case is one line of the file)."""
    cmd = [cc, "-std=c11", "-fsyntax-only", "-I", os.path.join(SRC, "include"),
           "-I", os.path.join(SRC, "tests", "options"), *flags, path]
    cmd += ["-fmax-errors=0"] if cc == "gcc" else ["-ferror-limit=0"]
    out = subprocess.run(cmd, capture_output=True, text=True).stderr
    bad = set()
    for line, tag in re.findall(re.escape(os.path.basename(path)) + r":(\d+):\d+: (error|fatal error)", out):
        idx = int(line) - first
        if 0 <= idx < n:
            bad.add(idx)
    if "fatal error" in out:
        sys.exit(f"{cc}: cannot compile the cases at all:\n{out[:2000]}")
    return bad


RUNNER = r"""
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
typedef void (*tgo_fn)(tgo_result *r);
extern const tgo_fn TGO_CASES[];
extern const int TGO_N_CASES;
int main(void) {
    tg_set_log_callback(NULL, NULL);
    for (int i = 0; i < TGO_N_CASES; i++) {
        int fd[2];
        if (pipe(fd)) return 1;
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            close(fd[0]);
            tgo_result r = {{0}, {0}};
            TGO_CASES[i](&r);
            if (write(fd[1], r.text, strlen(r.text)) < 0 || write(fd[1], " message=", 9) < 0 ||
                write(fd[1], r.message, strlen(r.message)) < 0)
                _exit(3);
            _exit(0);
        }
        close(fd[1]);
        char buf[4096] = {0};
        ssize_t got = 0, k;
        while ((k = read(fd[0], buf + got, sizeof buf - 1 - (size_t)got)) > 0) got += k;
        close(fd[0]);
        int st = 0;
        waitpid(pid, &st, 0);
        for (char *p = buf; *p; p++) if (*p == '\n') *p = ' ';
        printf("CASE %d %s%s\n", i, WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ran" : "crashed", buf);
    }
    return 0;
}
"""


def run_cases(cc, cases_c, work):
    runner = os.path.join(work, "runner.c")
    open(runner, "w").write(RUNNER)
    exe = os.path.join(work, f"cases_{cc}")
    cmd = [cc, "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-I", os.path.join(SRC, "include"),
           "-I", os.path.join(SRC, "tests", "options"), "-o", exe, runner, cases_c,
           os.path.join(SRC, "tests", "options", "harness.c"), LIBA,
           *EXTRA, *MPI_LIBS, "-lopenblas", "-lz", "-lsnappy", "-lprotobuf-c", "-lpthread", "-lm"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"{cc}: cannot build the cases:\n{r.stderr[:4000]}")
    out = subprocess.run([exe], capture_output=True, text=True, timeout=600).stdout
    res = {}
    for line in out.splitlines():
        m = re.match(r"CASE (\d+) (\w+)(.*)$", line)
        if m:
            res[int(m.group(1))] = (m.group(2), parse_obs(m.group(3)))
    return res


def parse_obs(text):
    obs = {}
    msg = text.find(" message=")
    if msg >= 0:
        obs["message"] = text[msg + len(" message="):]
        text = text[:msg]
    for w in text.split():
        if "=" in w:
            k, v = w.split("=", 1)
            obs[k] = v
    return obs


def same(a, b):
    keys = (set(a) | set(b)) - {"message"}
    return all(a.get(k) == b.get(k) for k in keys)


def check_expect(exp, obs):
    for k, v in exp.items():
        if k == "error":
            if obs.get("status") == "OK" or v not in obs.get("message", ""):
                return f"expected TF's error '{v}'"
        elif isinstance(v, float):
            if k not in obs or abs(float(obs[k]) - v) > 1e-4 * max(1, abs(v)):
                return f"{k}={obs.get(k)} but TF gives {v:.6g}"
        elif obs.get(k) != v:
            return f"{k}={obs.get(k)} but TF gives {v}"
    return None


def is_default(struct, field, sp, dflt, ctype):
    """Whether this spelling is the field's default value."""
    zero = sp in ("0", "false", "NULL")
    if struct not in dflt or "tg__init" not in dflt[struct]:
        return zero
    d = dflt[struct].get(field)
    if d is None:
        return zero
    if kind(ctype) in ("bool", "optbool"):
        return (d == "true") == (sp in ("true", "1")) if d in ("true", "false") else False
    try:
        return float(d) == float(sp)
    except ValueError:
        return False


def judge(c, obs, status, base, dflt, structs):
    cid, struct, field, sp, form, _ = c
    if status != "ran":
        return "crashed"
    tagged = struct in dflt and "tg__init" in dflt[struct]
    if struct in REQUIRED and obs.get("status") != "OK" and any(w in obs.get("message", "") for w in REQUIRED[struct]):
        return None
    if form == "null":
        return None if obs.get("status") == "OK" else f"NULL options fail: {obs.get('message')}"
    if tagged and form == "literal":
        init = struct.upper() + "_INIT"  # the macro the refusal must name
        if obs.get("status") != "INVALID_ARGUMENT" or init not in obs.get("message", ""):
            return f"compound literal not refused naming {init}: {obs}"
        return None
    ctype = dict(structs[struct])[field]
    exp = EXPECT.get((struct, field, sp))
    if obs.get("status") != "OK":
        allowed = ERRORS_OK.get((struct, field, sp))
        msg = obs.get("message", "")
        if exp and "error" in exp:
            return check_expect(exp, obs)
        if allowed is not None and allowed in msg:
            return None
        # the field, or for a count n_X its list X
        names = [field] + ([field[2:]] if field.startswith("n_") else [])
        if any(re.search(r"\b" + re.escape(n) + r"\b", msg) for n in names):
            return None
        return f"failed without naming the field: {msg}"
    if exp and "error" in exp:
        return check_expect(exp, obs)
    if exp is not None:
        return check_expect(exp, obs)
    if is_default(struct, field, sp, dflt, ctype) and not same(obs, base[struct]):
        return f"the default spelling built something else than NULL options:\n    {obs}\n    {base[struct]}"
    return None


def main():
    structs = parse_structs()
    dflt = defaults()
    harness = open(os.path.join(SRC, "tests", "options", "harness.c")).read()
    missing = [s for s in structs if f"void tgo_{s}(" not in harness]
    if missing:
        sys.exit(f"no builder in tests/options/harness.c for: {', '.join(missing)}")
    cases = generate(structs, dflt)
    work = tempfile.mkdtemp(prefix="tg_options_")
    path = os.path.join(work, "cases.c")
    first = write_cases(path, cases, set(range(len(cases))))
    failures, compiled, refused = [], {}, {}
    for cc in COMPILERS:
        bad = set()
        for flags in FLAGSETS:
            bad |= compile_errors(cc, flags, path, first, len(cases))
        refused[cc] = bad
        keep = set(range(len(cases))) - bad
        cc_path = os.path.join(work, f"cases_{cc}.c")
        write_cases(cc_path, cases, keep)
        if not (SANITIZE and cc != "gcc"):
            compiled[cc] = run_cases(cc, cc_path, work)
    for cc in compiled:
        res = compiled[cc]
        base = {c[1]: res[c[0]][1] for c in cases if c[4] == "null"}
        for c in cases:
            if c[0] in refused[cc]:
                if c[4] == "null" or (c[4] == "tg_opts" and c[3] in ("0", "NULL", "false", "true", "1")
                                      and kind(dict(structs[c[1]])[c[2]]) in ("bool", "optbool", "int", "float")):
                    failures.append(f"{cc}: {c[1]}.{c[2]} = {c[3]} ({c[4]}): does not compile: {c[5]}")
                continue
            status, obs = res.get(c[0], ("missing", {}))
            why = judge(c, obs, status, base, dflt, structs)
            if why:
                failures.append(f"{cc}: {c[1]}.{c[2]} = {c[3]} ({c[4]}): {why}")
    n_fields = sum(len(f) for f in structs.values())
    n_refused = {cc: len(refused[cc]) for cc in COMPILERS}
    print(f"{len(structs)} options structs, {n_fields} fields, {len(cases)} cases per compiler; "
          f"compile errors (accepted) gcc {n_refused['gcc']}, clang {n_refused['clang']}")
    for f in failures:
        print("FAIL", f)
    print(f"options: {0 if failures else 1} passed, {1 if failures else 0} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
