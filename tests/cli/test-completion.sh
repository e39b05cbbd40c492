#!/usr/bin/env bash
# Shell completion of virt-aleph, for real: bash sources completion/virt-aleph and calls its
# function with COMP_WORDS/COMP_CWORD as bash sets them, zsh sources completion/_virt-aleph
# with words/CURRENT set and compadd/_describe/_files recording what they are given. The
# verbs and options offered are compared with what the built virt-aleph's --help lists, every
# verb's; domain names come from a fake virsh on PATH, which records the connection it got.
#
# Run by meson (suite 'cli'):  test-completion.sh SRCDIR BUILDDIR
set -uo pipefail
src=$1
build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin" "$tmp/files"
touch "$tmp/files/first.conf" "$tmp/files/fine.xml"
cat >"$tmp/bin/virsh" <<EOS
#!/bin/sh
echo "\$*" >>"$tmp/virsh.args"
printf 'web\nweb-2\n\ndb\n'
EOS
chmod +x "$tmp/bin/virsh"
export PATH="$tmp/bin:$build/plugin/cli:$PATH"
unset VIRT_ALEPH_DEFAULT_URI LIBVIRT_DEFAULT_URI
fails=0
passes=0

check() { # NAME EXPECTED ACTUAL
    if [ "$2" == "$3" ]; then
        passes=$((passes + 1))
    else
        echo "FAIL $1"
        echo "  expected: $2"
        echo "  got:      $3"
        fails=$((fails + 1))
    fi
}

# what the binary says, parsed here independently of the completion's own parsing
help_verbs=$(virt-aleph --help | sed -n '/^Commands:/,/^$/p' | sed '1d;/^$/d' | awk '{print $1}' | sort)
help_options() { # VERB… : its long and short options, sorted
    virt-aleph "$@" --help | grep -E '^ +-' | sed -E 's/^ +//; s/  .*//; s/=[^ ,]*//g; s/, /\n/g' | sort -u
}

# ---- bash --------------------------------------------------------------------------------
# shellcheck source=/dev/null
source "$src/completion/virt-aleph"
comp() { # WORD… (the last one is completed): COMPREPLY, sorted, one line
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="$*"
    COMPREPLY=()
    _virt_aleph
    printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | tr '\n' ' '
}
sorted() { printf '%s\n' "$@" | sort | tr '\n' ' '; }

check "bash: every verb" "$(echo "$help_verbs" | tr '\n' ' ')" "$(comp virt-aleph '')"
check "bash: verbs by prefix" "$(echo "$help_verbs" | grep '^st' | tr '\n' ' ')" "$(comp virt-aleph st)"
check "bash: an option of tag" "--publish " "$(comp virt-aleph tag --pub)"
check "bash: options after a global option" "--timeout " "$(comp virt-aleph -c test:///x --ti)"
check "bash: verb after an option's value" "$(echo "$help_verbs" | grep '^lo' | tr '\n' ' ')" \
    "$(comp virt-aleph --timeout 5 lo)"
for verb in $help_verbs; do
    check "bash: every option of $verb" "$(help_options "$verb" | tr '\n' ' ')" "$(comp virt-aleph "$verb" -)"
done
check "bash: sev subcommands" "$(sorted measure policy secret session verify-chain)" "$(comp virt-aleph sev '')"
check "bash: build subcommands and templates" "$(sorted fine.xml first.conf inspect validate)" \
    "$(cd "$tmp/files" && comp virt-aleph build '')"
check "bash: build's template by name" "$tmp/files/first.conf " "$(comp virt-aleph build "$tmp/files/fir")"
check "bash: build validate takes a template" "$tmp/files/fine.xml " "$(comp virt-aleph build validate "$tmp/files/fin")"
check "bash: every option of build inspect" "$(help_options build inspect | tr '\n' ' ')" "$(comp virt-aleph build inspect -)"
check "bash: sev secret subcommand" "build " "$(comp virt-aleph sev secret '')"
check "bash: options of sev verify-chain" "--ark --ask " "$(comp virt-aleph sev verify-chain --a)"
check "bash: every option of sev secret build" "$(help_options sev secret build | tr '\n' ' ')" \
    "$(comp virt-aleph sev secret build -)"
check "bash: account subcommands" "$(sorted create import show)" "$(comp virt-aleph account '')"
check "bash: message subcommands" "$(sorted build send sign status verify)" "$(comp virt-aleph message '')"

: >"$tmp/virsh.args"
check "bash: domain names" "$(sorted db web web-2)" "$(comp virt-aleph status '')"
check "bash: virsh's default connection" "-q list --all --name" "$(cat "$tmp/virsh.args")"
: >"$tmp/virsh.args"
check "bash: domain names by prefix, -c given" "$(sorted web web-2)" "$(comp virt-aleph -c test:///x logs we)"
check "bash: virsh gets -c" "-c test:///x -q list --all --name" "$(cat "$tmp/virsh.args")"
: >"$tmp/virsh.args"
check "bash: --connect=URI as bash splits it" "$(sorted web web-2)" \
    "$(comp virt-aleph --connect = test:///y tag --es w)"
check "bash: virsh gets --connect=URI" "-c test:///y -q list --all --name" "$(cat "$tmp/virsh.args")"
: >"$tmp/virsh.args"
check "bash: \$VIRT_ALEPH_DEFAULT_URI" "$(sorted db)" "$(VIRT_ALEPH_DEFAULT_URI=test:///z comp virt-aleph apply d)"
check "bash: virsh gets \$VIRT_ALEPH_DEFAULT_URI" "-c test:///z -q list --all --name" "$(cat "$tmp/virsh.args")"
check "bash: one domain only" "" "$(comp virt-aleph status web '')"
check "bash: delete takes a domain" "$(sorted web web-2)" "$(comp virt-aleph delete w)"
check "bash: the value of --config is a file" "$tmp/files/fine.xml $tmp/files/first.conf " \
    "$(comp virt-aleph logs --config "$tmp/files/fi")"
check "bash: --config=FILE as bash splits it" "$tmp/files/fine.xml $tmp/files/first.conf " \
    "$(comp virt-aleph logs --config = "$tmp/files/fi")"
check "bash: the value of --connect is not a domain" "" "$(comp virt-aleph status --connect '')"
check "bash: no domain for a verb that takes none" "$tmp/files/first.conf " \
    "$(comp virt-aleph validate "$tmp/files/firs")"

# ---- zsh ---------------------------------------------------------------------------------
if ! command -v zsh >/dev/null; then
    echo "FAIL zsh is not installed (scripts/setup.sh installs it)"
    fails=$((fails + 1))
else
    zcomp() { # WORD… : what _virt-aleph handed to compadd, _describe or _files
        zsh -f -c '
            compadd() { local -a a; a=("${@:#--}"); a=(${(o)a}); print -r -- "${(j: :)a}" }
            _describe() { local n=${@[-1]}; local -a v; v=("${(@P)n}"); v=(${(o)v%%:*}); print -r -- "${(j: :)v}" }
            _files() { print -r -- "_files $*" }
            _message() { print -r -- "_message $*" }
            compset() { return 0 }
            source "$1/completion/_virt-aleph"
            shift
            words=("$@"); CURRENT=$#words
            _virt-aleph' zsh "$src" "$@"
    }
    check "zsh: every verb" "$(echo "$help_verbs" | tr '\n' ' ' | sed 's/ $//')" "$(zcomp virt-aleph '')"
    check "zsh: every option of tag" "$(help_options tag | sort | tr '\n' ' ' | sed 's/ $//')" \
        "$(zcomp virt-aleph tag --p | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"
    check "zsh: sev secret subcommand" "build" "$(zcomp virt-aleph sev secret '')"
    check "zsh: build subcommands and templates" "$(printf 'inspect validate\n_files ')" "$(zcomp virt-aleph build '')"
    : >"$tmp/virsh.args"
    check "zsh: domain names" "db web web-2" "$(zcomp virt-aleph -c test:///x status '')"
    check "zsh: virsh gets -c" "-c test:///x -q list --all --name" "$(cat "$tmp/virsh.args")"
    check "zsh: the value of --config is a file" "_files " "$(zcomp virt-aleph logs --config '')"
    check "zsh: no domain for a verb that takes none" "_files " "$(zcomp virt-aleph validate '')"
fi

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
