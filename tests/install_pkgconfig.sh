#!/usr/bin/env bash
# The README's "Installing", done: installs this build with
# `meson install --destdir` into a temporary folder, then compiles a small
# program against the installed headers with `pkg-config --cflags --libs
# tgraph`, links it with the shared library (run through LD_LIBRARY_PATH,
# then through an rpath) and with libtgraph.a and `pkg-config --static --libs
# tgraph` (no libtgraph.so needed to run), and runs each. Each
# program fits a line with OpenBLAS's matmul, writes and reads back a
# checkpoint (snappy, protobuf-c) and opens a missing IDX folder (zlib), so
# every library in the .pc is linked for real.
#
#   install_pkgconfig.sh BUILD_DIR PREFIX LIBDIR INCLUDEDIR DEFAULT_LIBRARY
#
# PREFIX, LIBDIR, INCLUDEDIR and DEFAULT_LIBRARY (both, shared or static) are
# the build's options (LIBDIR and INCLUDEDIR relative to PREFIX, or
# absolute): a build of one kind of library links that kind only. CC is the
# build's C compiler and TG_LINK_FLAGS what its objects need at link time
# (-fsanitize=..., --coverage).
# Exit 77 (skipped) without pkg-config.
set -euo pipefail
build=$1 prefix=$2 libdir=$3 includedir=$4 kind=$5
read -r -a cc <<< "${CC:-cc}"  # may be a command with arguments (ccache cc)
read -r -a extra <<< "${TG_LINK_FLAGS:-}"

if ! command -v pkg-config >/dev/null 2>&1; then
  echo "skipped: pkg-config is not installed (scripts/setup.sh installs it)"
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

# --no-rebuild: meson test has built everything already, and a second ninja
# in the same build folder while tests run must not happen.
meson install -C "$build" --no-rebuild --destdir "$dest" --quiet

case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
case $includedir in /*) ;; *) includedir=$prefix/$includedir ;; esac
pc=$dest$libdir/pkgconfig/tgraph.pc
want=("$pc" "$dest$includedir/tgraph.h")
[ "$kind" = static ] || want+=("$dest$libdir/libtgraph.so")
[ "$kind" = shared ] || want+=("$dest$libdir/libtgraph.a")
for f in "${want[@]}"; do
  [ -e "$f" ] || { echo "not installed: $f"; ls -R "$dest"; exit 1; }
done

# The .pc names the configured prefix (where `meson install` without
# --destdir puts the files). Point a copy at the staging folder: only its
# prefix= line changes, as in a package that is unpacked elsewhere.
# (PKG_CONFIG_SYSROOT_DIR and --define-variable would move OpenBLAS's and
# zlib's paths into the staging folder too.)
grep -qx "prefix=$prefix" "$pc" || { echo "tgraph.pc does not say prefix=$prefix:"; cat "$pc"; exit 1; }
mkdir "$tmp/pc"
sed "s|^prefix=.*|prefix=$dest$prefix|" "$pc" > "$tmp/pc/tgraph.pc"
export PKG_CONFIG_PATH=$tmp/pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
pkg-config --exists --print-errors tgraph
echo "tgraph.pc:"; sed 's/^/  /' "$pc"
echo "pkg-config --cflags --libs tgraph:  $(pkg-config --cflags --libs tgraph)"
echo "pkg-config --static --libs tgraph:  $(pkg-config --static --libs tgraph)"
[ "$(pkg-config --variable=libdir tgraph)" = "$dest$libdir" ]

cat > "$tmp/app.c" <<'EOF'
/* Fits y = X [3, -2]' by gradient descent, saves w as a TF checkpoint and
 * reads it back. Only the installed <tgraph.h>. */
#include <math.h>
#include <stdio.h>
#include <tgraph.h>

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 2), "x");
    tg_tensor *y = tg_placeholder(g, TG_FLOAT32, TG_SHAPE(-1, 1), "y");
    tg_variable *w = NULL;
    TG_WITH_VARIABLE_SCOPE(g, "linear", NULL) {
        TG_OPTS(tg_get_variable_opts, wo, .initializer = tg_zeros_initializer());
        w = tg_get_variable(g, "w", TG_FLOAT32, TG_SHAPE(2, 1), &wo);
    }
    tg_tensor *err = tg_subtract(g, tg_matmul(g, x, tg_variable_value(w), NULL), y, NULL);
    tg_tensor *loss = tg_reduce_mean(g, tg_square(g, err, NULL), NULL);
    tg_op *train = tg_optimizer_minimize(tg_train_gradient_descent_optimizer_new(g, 0.2, NULL), loss, NULL);
    tg_op *init = tg_global_variables_initializer(g);
    if (tg_graph_status(g)) return puts(tg_graph_message(g)), 1;

    tg_session *s = tg_session_new(g);
    tg_array *xv = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){4, 2}, (float[]){1, 0, 0, 1, 1, 1, 2, -1});
    tg_array *yv = tg_array_new_from(TG_FLOAT32, 2, (int64_t[]){4, 1}, (float[]){3, -2, 1, 8});
    tg_tensor *wt = tg_variable_value(w);
    tg_array *wv = NULL, *back = NULL;
    tg_code rc = tg_session_run(s, NULL, 0, NULL, 0, NULL, &init, 1);
    for (int i = 0; !rc && i < 300; i++)
        rc = tg_session_run(s, (tg_feed[]){{x, xv}, {y, yv}}, 2, NULL, 0, NULL, &train, 1);
    if (!rc) rc = tg_session_run(s, NULL, 0, &wt, 1, &wv, NULL, 0);
    if (rc) return puts(tg_session_message(s)), 1;
    printf("w %.4f %.4f\n", tg_array_get(wv, 0), tg_array_get(wv, 1));

    char msg[256];
    const char *name = tg_variable_name(w);
    if (tg_checkpoint_write(argv[1], 1, &name, (const tg_array *const *)&wv, msg, sizeof msg) ||
        tg_train_load_variable(argv[1], name, &back, msg, sizeof msg))
        return puts(msg), 1;
    printf("checkpoint %s %.4f %.4f\n", name, tg_array_get(back, 0), tg_array_get(back, 1));

    tg_idx_dataset *d = NULL;
    tg_code idx = tg_data_load_idx_dir("/nonexistent-idx-folder", "train", &d, msg, sizeof msg);
    printf("idx %s\n", tg_code_name(idx));

    int ok = fabs(tg_array_get(wv, 0) - 3) < 1e-3 && fabs(tg_array_get(wv, 1) + 2) < 1e-3 &&
             tg_array_get(back, 0) == tg_array_get(wv, 0) && tg_array_get(back, 1) == tg_array_get(wv, 1) &&
             idx != TG_OK && d == NULL;
    tg_array_free(xv), tg_array_free(yv), tg_array_free(wv), tg_array_free(back);
    tg_session_free(s), tg_graph_free(g);
    return !ok;
}
EOF

read -r -a cflags <<< "$(pkg-config --cflags tgraph)"
read -r -a libs <<< "$(pkg-config --libs tgraph)"
# The README's static line: libtgraph.a where the .pc says -ltgraph, since
# with both libraries installed -ltgraph picks libtgraph.so (GNU ld's
# -l:NAME names the file).
read -r -a static_libs <<< "$(pkg-config --static --libs tgraph | sed 's/-ltgraph/-l:libtgraph.a/')"
# Debian's openblas.pc lists -lgfortran for its own libopenblas.a; the
# linker takes libopenblas.so here, which does not need it, and the .so
# that -lgfortran names only comes with libgfortran-12-dev (README).
found() {  # lib$1.so or lib$1.a in a -L folder or the compiler's own
  local f d
  for f in "lib$1.so" "lib$1.a"; do
    [ "$("${cc[@]}" -print-file-name="$f")" != "$f" ] && return 0
    for d in "${static_libs[@]}"; do
      case $d in -L*) [ -e "${d#-L}/$f" ] && return 0 ;; esac
    done
  done
  return 1
}
for i in "${!static_libs[@]}"; do
  l=${static_libs[$i]}
  case $l in -l:*|-ltgraph) continue ;; -l*) ;; *) continue ;; esac
  if ! found "${l#-l}"; then
    echo "note: $l (from pkg-config --static) is not installed; linking without it"
    unset 'static_libs[i]'
  fi
done
libpath=$(pkg-config --variable=libdir tgraph)

check() {
  local out rc=0
  out=$("$@" "$tmp/ckpt$RANDOM") || rc=$?
  echo "$out" | sed 's/^/  /'
  [ "$rc" -eq 0 ] || { echo "  exit status $rc"; return 1; }
  [ "$out" = $'w 3.0000 -2.0000\ncheckpoint linear/w 3.0000 -2.0000\nidx NOT_FOUND' ]
}

cd "$tmp"
uses() {  # the libtgraph.so.N that the program loads is the installed one
  local so
  so=$("$@" | awk '/libtgraph\.so/ { print $3 }')
  if [ -z "$so" ] || [ "$(dirname "$so")" != "$libpath" ]; then
    echo "  loads libtgraph from '$so', not $libpath"; return 1
  fi
}
if [ "$kind" != static ]; then
  echo "shared: ${cc[*]} app.c \$(pkg-config --cflags --libs tgraph), run with LD_LIBRARY_PATH=$libpath"
  "${cc[@]}" -std=c11 -Wall -Wextra -Werror "${extra[@]}" "${cflags[@]}" app.c -o app_shared "${libs[@]}" -lm
  uses env LD_LIBRARY_PATH="$libpath" ldd ./app_shared
  check env LD_LIBRARY_PATH="$libpath" ./app_shared

  echo "shared, linked with -Wl,-rpath,$libpath"
  "${cc[@]}" -std=c11 "${extra[@]}" "${cflags[@]}" app.c -o app_rpath "${libs[@]}" -lm -Wl,-rpath,"$libpath"
  uses env -u LD_LIBRARY_PATH ldd ./app_rpath
  check env -u LD_LIBRARY_PATH ./app_rpath
fi
if [ "$kind" != shared ]; then
  echo "static: ${cc[*]} app.c \$(pkg-config --cflags tgraph) \$(pkg-config --static --libs tgraph | sed 's/-ltgraph/-l:libtgraph.a/')"
  "${cc[@]}" -std=c11 -Wall -Wextra -Werror "${extra[@]}" "${cflags[@]}" app.c -o app_static "${static_libs[@]}"
  if readelf -d app_static | grep -q 'NEEDED.*libtgraph'; then
    echo "app_static needs libtgraph.so"; exit 1
  fi
  check env -u LD_LIBRARY_PATH ./app_static
fi
echo "1 passed, 0 failed"
