# bash completion for mcp-proxyctl(8): commands, options, and what the running hub and
# the key file know (server names, session ids, client ids), read from mcp-proxyctl's own
# tables (first columns), so that nothing but mcp-proxyctl is needed.
_mcp_proxyctl_column() { # COLUMN COMMAND...
        local col=$1
        shift
        mcp-proxyctl "$@" 2>/dev/null | awk -v c="$col" 'NR > 1 && $c != "-" { print $c }' | sort -u
}

_mcp_proxyctl() {
        local cur prev words cword
        _init_completion 2>/dev/null || {
                cur=${COMP_WORDS[COMP_CWORD]}
                prev=${COMP_WORDS[COMP_CWORD - 1]}
                words=("${COMP_WORDS[@]}")
                cword=$COMP_CWORD
        }
        local commands="status servers instances sessions tools reload restart check-config key call"
        local options="--json --socket --client --keys --users --expires --scopes --help --version"

        case $prev in
        --socket | -s | --keys | --users)
                COMPREPLY=($(compgen -f -- "$cur"))
                return
                ;;
        --client | -c)
                COMPREPLY=($(compgen -W "$(_mcp_proxyctl_column 2 sessions) $(_mcp_proxyctl_column 1 key list)" -- "$cur"))
                return
                ;;
        --expires | --scopes)
                return
                ;;
        esac
        if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "$options" -- "$cur"))
                return
        fi

        # the command and its arguments so far, options left out
        local i verb= args=()
        for ((i = 1; i < cword; i++)); do
                case ${words[i]} in
                --socket | -s | --keys | --users | --client | -c | --expires | --scopes) ((i++)) ;;
                -*) ;;
                *) if [[ -z $verb ]]; then verb=${words[i]}; else args+=("${words[i]}"); fi ;;
                esac
        done
        case $verb in
        "") COMPREPLY=($(compgen -W "$commands" -- "$cur")) ;;
        instances | restart)
                ((${#args[@]} == 0)) && COMPREPLY=($(compgen -W "$(_mcp_proxyctl_column 1 servers)" -- "$cur"))
                ;;
        sessions)
                if ((${#args[@]} == 0)); then
                        COMPREPLY=($(compgen -W "kill" -- "$cur"))
                elif [[ ${args[0]} == kill && ${#args[@]} == 1 ]]; then
                        COMPREPLY=($(compgen -W "$(_mcp_proxyctl_column 1 sessions)" -- "$cur"))
                fi
                ;;
        key)
                if ((${#args[@]} == 0)); then
                        COMPREPLY=($(compgen -W "new list revoke" -- "$cur"))
                elif [[ ${args[0]} == revoke && ${#args[@]} == 1 ]]; then
                        COMPREPLY=($(compgen -W "$(_mcp_proxyctl_column 1 key list) $(_mcp_proxyctl_column 2 key list)" -- "$cur"))
                fi
                ;;
        check-config)
                ((${#args[@]} == 0)) && COMPREPLY=($(compgen -f -- "$cur"))
                ;;
        call)
                ((${#args[@]} == 0)) && COMPREPLY=($(compgen -W "$(_mcp_proxyctl_column 1 tools)" -- "$cur"))
                ;;
        esac
}
complete -F _mcp_proxyctl mcp-proxyctl
