"""The part of the grading guard that runs inside the student's kernel.

This file is not imported by the grader: :mod:`grader.guard` sends its text to
the kernel, before the first cell of the submission, and calls :func:`_install`
there (the kernel cannot read ``tools/``: it runs in the sandbox). ``_install``

1. imports the trusted modules (``gdlib.grading``, ``gdlib.gradcheck``) and takes
   a snapshot of what a student's code could replace to change the outcome of a
   test cell: IPython's input and AST transformers, custom exception handler,
   compiler and display hook; the methods of the shell, of the kernel and of its
   session (``run_cell``, ``showtraceback``, ``do_execute``, ``send``, ...); the
   builtins; the functions (and their code objects) of ``numpy``, ``math`` and the
   trusted modules; their entries in ``sys.modules``;
2. puts a guard function in ``builtins`` under the name ``__grading_guard__``.

Before each locked cell (test cells and read-only helper cells) the grader calls the
guard as a *user expression* of an empty request: IPython evaluates user expressions
with ``eval``, without the input transformers, AST transformers or exception hooks a
student could have installed. The guard puts the snapshot back, loads fresh copies of
the trusted modules from their files on disk, binds the names the test cell uses
(``grading``, ``check_close``, ...) to those fresh copies, binds the names defined by
the notebook's locked cells (``reference_adam``, ``no_library``: remembered right after
those cells ran, with the guard's ``pin``) back to what those cells defined, also when
the test cell reaches them through a helper function, and answers the grader's challenge
with an HMAC of a secret only this function holds (and the list of what it had to put
back, for the grader's log): a kernel whose guard was replaced, or that cannot evaluate
it, fails the test cell.
"""


def _install(secret, trusted):  # noqa: C901 (one self-contained function, sent as text)
    """Snapshot the kernel and put the guard in ``builtins`` (see the module docstring).

    Parameters
    ----------
    secret : str
        The key of the HMAC that proves the answer comes from this guard.
    trusted : dict
        ``{module name: path of its file}`` for the modules the checks come from.
    """
    import builtins
    import hashlib
    import hmac
    import importlib
    import importlib.util
    import sys
    import threading
    import types

    from IPython import get_ipython

    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    for name in trusted:
        importlib.import_module(name)
    import math  # noqa: F401 (snapshotted below)

    import numpy  # noqa: F401

    names = ["builtins", "numpy", "numpy.linalg", "math", "copy", "inspect", "hmac",
             "hashlib", "importlib", "importlib.util", "gdlib", "gdlib.backend", *trusted]
    modules = {name: sys.modules[name] for name in names if name in sys.modules}

    def callables(namespace):
        return {k: v for k, v in namespace.items()
                if callable(v) or isinstance(v, types.ModuleType)}

    module_snap = {name: callables(vars(m)) for name, m in modules.items()}
    functions = [(f, f.__code__, f.__defaults__, f.__kwdefaults__)
                 for snap in module_snap.values() for f in snap.values()
                 if isinstance(f, types.FunctionType)]

    itm = shell.input_transformer_manager
    objects = [o for o in (shell, kernel, getattr(kernel, "session", None), shell.compile,
                           itm, shell.displayhook, shell.display_pub) if o is not None]
    classes = {c for o in objects for c in type(o).__mro__ if c is not object}
    class_snap = {c: dict(vars(c)) for c in classes}
    instance_snap = [(o, dict(vars(o))) for o in objects if hasattr(o, "__dict__")]
    traits = ("ast_transformers", "input_transformer_manager", "compile", "displayhook",
              "display_pub", "InteractiveTB", "SyntaxTB", "custom_exceptions", "CustomTB")
    trait_snap = {name: getattr(shell, name) for name in traits if hasattr(shell, name)}
    lists = [(lst, list(lst)) for lst in (shell.input_transformers_post, shell.ast_transformers,
                                          itm.cleanup_transforms, itm.line_transforms,
                                          itm.token_transformers)]
    specs = {name: importlib.util.spec_from_file_location(name, path)
             for name, path in trusted.items()}
    key = secret.encode()

    builtin_dict, builtin_snap = vars(builtins), dict(vars(builtins))

    def put_back():
        builtin_dict.update(builtin_snap)  # first: what follows uses builtins
        changed = []
        for cls, snap in class_snap.items():
            current = vars(cls)
            for k, v in snap.items():
                if current.get(k, None) is not v:
                    try:
                        setattr(cls, k, v)
                        changed.append(f"{cls.__name__}.{k}")
                    except (AttributeError, TypeError):
                        pass
            for k in [k for k in current if k not in snap and not k.startswith("__")]:
                if callable(current[k]) or isinstance(current[k], (property, staticmethod,
                                                                  classmethod)):
                    delattr(cls, k)
                    changed.append(f"{cls.__name__}.{k}")
        for obj, snap in instance_snap:
            current = vars(obj)
            methods = {k for c in type(obj).__mro__ for k in vars(c)}
            for k in list(current):
                v = current[k]
                if k in snap:
                    if v is not snap[k] and (callable(v) or callable(snap[k])
                                             or k == "custom_exceptions"):
                        current[k] = snap[k]
                        changed.append(k)
                elif k in methods and callable(v):
                    del current[k]
                    changed.append(k)
        for name, value in trait_snap.items():
            if getattr(shell, name) is not value:
                setattr(shell, name, value)
                changed.append(name)
        for lst, items in lists:
            if lst != items:
                lst[:] = items
                changed.append("transformers")
        for name, module in modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
            namespace = vars(module)
            for k, v in module_snap[name].items():
                if namespace.get(k, None) is not v:
                    namespace[k] = v
                    changed.append(f"{name}.{k}")
        for f, code, defaults, kwdefaults in functions:
            if f.__code__ is not code:
                f.__code__ = code
                changed.append(f.__qualname__)
            f.__defaults__, f.__kwdefaults__ = defaults, kwdefaults
        sys.settrace(None)
        sys.setprofile(None)
        threading.settrace(None)
        threading.setprofile(None)
        shell.user_ns["__builtins__"] = builtins
        return changed

    pinned = {}  # name -> object bound by a locked (read-only) cell of the notebook
    hooks = ("CustomTB", "custom_exceptions")

    def fresh_modules():
        out = {}
        for name, spec in specs.items():
            module = importlib.util.module_from_spec(spec)
            module.__package__ = name.rpartition(".")[0]
            spec.loader.exec_module(module)  # may install its own notebook hooks
            sys.modules[name] = module
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                setattr(sys.modules[parent], child, module)
                if parent in module_snap:
                    module_snap[parent][child] = module
            out[name] = module
        # What the fresh modules installed is the new reference (not tampering).
        for k in hooks:
            if hasattr(shell, k):
                trait_snap[k] = getattr(shell, k)
                for obj, snap in instance_snap:
                    if obj is shell and k in vars(shell):
                        snap[k] = vars(shell)[k]
        return out

    def code_names(code, seen):
        for name in code.co_names:
            seen.add(name)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                code_names(const, seen)

    def needed(used):
        """The names used, and those read by the pinned functions they reach."""
        todo, seen = list(used), set(used)
        while todo:
            obj = pinned.get(todo.pop())
            if isinstance(obj, types.FunctionType):
                more = set()
                code_names(obj.__code__, more)
                for name in more - seen:
                    seen.add(name)
                    todo.append(name)
        return seen

    def guard(challenge, used, pin=()):
        ns = shell.user_ns
        if pin:  # right after a locked cell ran: remember what it defined
            for name in pin:
                if name in ns:
                    pinned[name] = ns[name]
            changed = []
        else:  # before a locked cell: put everything back
            changed = put_back()
            fresh = fresh_modules()
            for name in sorted(needed(used)):
                if name in pinned and ns.get(name) is not pinned[name]:
                    ns[name] = pinned[name]
                    changed.append(f"the notebook's {name}")
                for modname, module in fresh.items():
                    public = set(getattr(module, "__all__", ())) | {
                        k for k, v in vars(module).items()
                        if callable(v) and getattr(v, "__module__", None) == modname}
                    if name == modname.rpartition(".")[2]:
                        ns[name] = module
                    elif name in public and hasattr(module, name):
                        ns[name] = getattr(module, name)
        proof = hmac.new(key, challenge.encode(), hashlib.sha256).hexdigest()
        return proof + ":" + ",".join(sorted(set(changed)))

    builtins.__grading_guard__ = guard
    module_snap["builtins"]["__grading_guard__"] = guard
