"""Packages installed once into a pool and imported from there by every instance that
mounts it (``Pool.install``, ``Pool.packages``, and the ``sys.path`` entry that
``mount`` adds).

In the pool, relative to its root (each instance sees it under its own mount point)::

    .site-packages/                a site-packages directory: the packages, their
                                   .dist-info, and __pycache__/*.pyc compiled at install
    .site-packages/.pyodide-env    the Python/ABI the packages were installed for (JSON)
    .site-packages/.install-lock/  exists while one instance installs (owner inside)
    .site-packages/.staging/       wheels being unpacked, moved into place when complete

An install resolves the requirements with micropip's own resolver, configured as
``micropip.install`` is in the calling instance (its index URLs and constraints, this
Pyodide's lock file) — except that "already installed" means installed *in the pool*,
since the workers have nothing else. Each wheel is fetched once (lock-file packages from
the lock's base URL, checked against its sha256), unpacked into ``.staging/``, then moved
into ``.site-packages/`` entry by entry, its ``.dist-info`` last: until that last rename
nobody sees the package. Then its ``.py`` files are byte-compiled beside the sources (the
usual timestamp-checked ``__pycache__`` files: every instance sees the same mtimes in the
pool, so all of them load these instead of compiling), and its shared libraries (``.so``)
are loaded into this instance asynchronously. Other instances load a package's ``.so``
when they import it: Emscripten's ``dlopen`` reads it through the file system, i.e. from
the pool (synchronously; a browser *page* refuses to compile a wasm module over 8 MB that
way — call ``await pool.install(...)`` there, which loads them asynchronously).

Only this module and ``_jsglue`` know about micropip and Pyodide's package loader.
"""

from __future__ import annotations

import asyncio
import compileall
import hashlib
import importlib
import importlib.machinery
import importlib.metadata
import io
import json
import os
import posixpath
import shutil
import sys
import sysconfig
import time
import warnings
import zipfile
from collections.abc import Iterable
from typing import Any

from . import _jsglue

SITE_DIR = ".site-packages"
ENV_FILE = ".pyodide-env"
LOCK_DIR = ".install-lock"
STAGING_DIR = ".staging"
INSTALLER = "pyodide-extmemfs"
OUR_NAME = "pyodide-extmemfs"
HIDDEN_MOUNTS = "/.extmemfs"

# mount point -> [pool, site dir, mtime seen] for the pools mounted in this instance
_active: dict[str, list] = {}


class InstallError(RuntimeError):
    """A package could not be installed into the pool (the message says which, why)."""


# ---- sys.path: every mount of a pool sees its packages -----------------------------------


def env_tag() -> dict[str, str]:
    """What packages compiled for this instance must match (Python, ABI, bytecode)."""
    abi = sysconfig.get_config_var("PYEMSCRIPTEN_PLATFORM_VERSION") or sysconfig.get_config_var(
        "PYODIDE_ABI_VERSION"
    )
    return {
        "python": "{}.{}".format(*sys.version_info[:2]),
        "abi": str(abi or sysconfig.get_platform()),
        "cache_tag": str(sys.implementation.cache_tag),
    }


def _site(mount: str) -> str:
    return posixpath.join(posixpath.normpath(mount), SITE_DIR)


def _env_mismatch(site: str) -> str | None:
    """Why the packages in ``site`` do not fit this instance, or None."""
    try:
        with open(posixpath.join(site, ENV_FILE)) as f:
            theirs = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        return f"its {ENV_FILE} is unreadable ({e})"
    ours = env_tag()
    diff = [f"{k} {theirs.get(k)!r} (here {v!r})" for k, v in ours.items() if theirs.get(k) != v]
    return "installed for " + ", ".join(diff) if diff else None


def _insert_path(site: str) -> None:
    if site in sys.path:
        # (a worker started from a memory snapshot has it already; an import before the
        # mount may have found no directory there and cached that)
        importlib.invalidate_caches()
        return
    # Before the instance's own site-packages: the pool's packages are what its workers
    # import, and this instance should import the same.
    at = len(sys.path)
    for k, p in enumerate(sys.path):
        if p.rstrip("/").endswith("site-packages"):
            at = k
            break
    sys.path.insert(at, site)
    importlib.invalidate_caches()


def on_mount(pool: Any, mount: str) -> None:
    """Called by ``mount()``: put the pool's packages on ``sys.path``."""
    site = _site(mount)
    _active[posixpath.normpath(mount)] = [pool, site, _mtime(site)]
    why = _env_mismatch(site)
    if why:
        warnings.warn(
            f"the packages in the pool mounted at {mount} are not used here: {why}",
            RuntimeWarning,
            stacklevel=3,
        )
        return
    _insert_path(site)
    _run_pth_files(site)


def on_unmount(mount: str) -> None:
    """Called by ``unmount()``: the pool's packages leave ``sys.path``."""
    entry = _active.pop(posixpath.normpath(mount), None)
    if entry and entry[1] in sys.path:
        sys.path.remove(entry[1])
        importlib.invalidate_caches()


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def refresh() -> None:
    """Notice packages another instance installed since the last look (a worker calls
    this before every call): Python's import caches are renewed when a pool's
    ``.site-packages`` changed."""
    changed = False
    for entry in _active.values():
        m = _mtime(entry[1])
        if m != entry[2]:
            entry[2] = m
            changed = True
    if changed:
        importlib.invalidate_caches()


def _run_pth_files(site: str) -> None:
    import site as site_module

    try:
        names = sorted(n for n in os.listdir(site) if n.endswith(".pth"))
    except OSError:
        return
    for name in names:
        site_module.addpackage(site, name, None)


# ---- where the pool is in this instance --------------------------------------------------


def mount_point(pool: Any) -> str:
    """Where ``pool`` is mounted in this instance; mounts it under /.extmemfs if nowhere."""
    for mount, entry in _active.items():
        if _jsglue.same_js(entry[0].memory, pool.memory):
            return mount
    from . import mount as mount_pool

    path = f"{HIDDEN_MOUNTS}/pool{pool.instance_id}"
    mount_pool(pool, path)
    return path


def _site_for(pool: Any, create: bool) -> str:
    site = _site(mount_point(pool))
    why = _env_mismatch(site)
    if why:
        raise InstallError(f"the pool's packages ({site}) do not fit this instance: {why}")
    if create and not os.path.isdir(site):
        try:
            os.makedirs(site, exist_ok=True)
            _write(posixpath.join(site, ENV_FILE), json.dumps(env_tag(), indent=1) + "\n")
        except OSError as e:
            raise InstallError(f"cannot create {site} in the pool: {e}") from None
        _insert_path(site)
    return site


def _write(path: str, text: str) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


# ---- listing -----------------------------------------------------------------------------


def _canon(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def _dists(site: str) -> dict[str, importlib.metadata.Distribution]:
    out = {}
    if os.path.isdir(site):
        for d in importlib.metadata.distributions(path=[site]):
            name = d.metadata["Name"]
            if name:
                out[_canon(name)] = d
    return out


def packages(pool: Any) -> list[dict[str, Any]]:
    """The distributions installed in the pool."""
    site = _site(mount_point(pool))
    out = []
    for _key, d in sorted(_dists(site).items()):
        out.append(
            {
                "name": d.metadata["Name"],
                "version": d.version,
                "source": (d.read_text("PYODIDE_SOURCE") or "").strip() or None,
                "files": len(d.files or []),
                "location": site,
            }
        )
    return out


def import_names(pool: Any, requirements: Iterable[str]) -> list[str]:
    """The top-level modules of the named distributions installed in the pool (what a
    worker imports to have them loaded): from ``top_level.txt``, else from the files
    the distribution installed. Names not installed are skipped, and so are
    distributions with shared libraries (a memory snapshot cannot hold a loaded one)."""
    dists = _dists(site_dir(pool))
    out: list[str] = []
    for req in requirements:
        d = dists.get(_canon(_req_name(req)))
        if d is None or any(_is_dynlib(str(f)) for f in d.files or []):
            continue
        names = (d.read_text("top_level.txt") or "").split()
        if not names:
            for f in d.files or []:
                top = f.parts[0]
                if top.endswith((".dist-info", ".data")) or top in ("__pycache__", ".."):
                    continue
                if len(f.parts) == 1:
                    if top.endswith(".py"):
                        names.append(top[:-3])
                elif f.parts[-1] == "__init__.py" and len(f.parts) == 2:
                    names.append(top)
        for n in names:
            if n.isidentifier() and n not in out:
                out.append(n)
    return out


def site_dir(pool: Any) -> str:
    """The pool's ``.site-packages`` where it is mounted in this instance."""
    return _site(mount_point(pool))


def installed_state(pool: Any) -> list[str]:
    """``name==version`` of every distribution in the pool (sorted): what a memory
    snapshot of a worker with the pool's packages imported depends on."""
    return [f"{k}=={d.version}" for k, d in sorted(_dists(site_dir(pool)).items())]


def prepare_snapshot(mount: str, imports: list[str]) -> str:
    """In an instance that is about to be snapshotted (jsglue/workers.js ``snapshot``
    message; the pool is mounted at ``mount`` from JS): the pool's packages on
    ``sys.path`` as :func:`on_mount` puts them, the worker's own modules and ``imports``
    imported. Holds no JS object. Returns JSON: ``{module: why}`` for each import that
    failed (the snapshot is made without it)."""
    from . import _serialize, _worker  # noqa: F401  (loaded once, for every worker)

    site = _site(mount)
    failures: dict[str, str] = {}
    if os.path.isdir(site):
        why = _env_mismatch(site)
        if why:
            why = f"the pool's packages are not used here: {why}"
            return json.dumps(dict.fromkeys(imports, why))
        _insert_path(site)
        _run_pth_files(site)
    before = _extension_modules()
    for name in imports:
        try:
            importlib.import_module(name)
        except BaseException as e:  # anything a package does at import, SystemExit too
            failures[name] = f"{type(e).__name__}: {e}"
    loaded = sorted(_extension_modules() - before)
    if loaded:
        # Their code is in wasm modules and tables the snapshot does not hold: a worker
        # restored from it would call into nothing.
        raise RuntimeError(
            f"importing {', '.join(imports)} loaded shared libraries ({', '.join(loaded)}), "
            "which a memory snapshot cannot hold"
        )
    return json.dumps(failures)


def _extension_modules() -> set[str]:
    """Files of the extension modules (shared libraries) loaded in this instance."""
    out = set()
    for mod in list(sys.modules.values()):
        f = getattr(mod, "__file__", None)
        if isinstance(f, str) and _is_dynlib(f):
            out.add(f)
    return out


# ---- the install lock --------------------------------------------------------------------


class _InstallLock:
    """One installer at a time, in all instances: a directory made with mkdir (atomic in
    the pool), holding the owner's instance id. A lock whose owner is no longer attached
    to the pool (it died) is broken by renaming it away (only one breaker wins)."""

    def __init__(self, pool: Any, site: str, timeout: float):
        self.pool = pool
        self.path = posixpath.join(site, LOCK_DIR)
        self.timeout = timeout

    async def __aenter__(self) -> _InstallLock:
        t0 = time.monotonic()
        delay = 0.02
        while True:
            try:
                os.mkdir(self.path)
            except FileExistsError:
                pass
            else:
                _write(posixpath.join(self.path, "owner"), str(self.pool.instance_id))
                return self
            owner = self._owner()
            if owner is not None and owner not in {i["id"] for i in self.pool.instances()}:
                self._break(f"{owner}")
                continue
            if owner is None and time.time() - (_mtime(self.path) or time.time()) > 30:
                self._break("unknown")  # made, and its owner died before writing its name
                continue
            if time.monotonic() - t0 > self.timeout:
                raise InstallError(
                    f"another instance (id {owner}) has been installing packages into the "
                    f"pool for over {self.timeout:.0f} s ({self.path} exists)"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _owner(self) -> int | None:
        try:
            with open(posixpath.join(self.path, "owner")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def _break(self, owner: str) -> None:
        away = f"{self.path}.stale{self.pool.instance_id}"
        try:
            os.rename(self.path, away)
        except OSError:
            return  # someone else broke it first
        shutil.rmtree(away, ignore_errors=True)

    async def __aexit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


# ---- resolving ---------------------------------------------------------------------------


async def _micropip() -> Any:
    try:
        import micropip
    except ImportError:
        await _jsglue.load_package("micropip")
        import micropip
    return micropip


def _make_transaction(micropip: Any, installed: dict[str, str], opts: dict) -> Any:
    """micropip's Transaction, but "installed" means installed in the pool, and the
    dependencies of lock-file packages are resolved too (micropip leaves those to
    ``pyodide.loadPackage``, which installs into the instance, not the pool)."""
    from micropip._vendored.packaging.src.packaging.markers import default_environment
    from micropip.package import PackageMetadata
    from micropip.transaction import Transaction

    from . import __version__

    manager = micropip._package_manager_singleton

    class PoolTransaction(Transaction):
        def check_version_satisfied(self, req, *, allow_reinstall=False):
            if req.name == OUR_NAME:
                return True, __version__  # every instance has its own copy
            ver = installed.get(req.name)
            if req.name in self.locked:
                ver = self.locked[req.name].version
            if not ver:
                return False, ""
            if req.specifier.contains(ver, prereleases=True):
                return True, ver
            if allow_reinstall:
                return False, ""
            raise ValueError(
                f"Requested '{req}', but {req.name}=={ver} is already installed in the "
                "pool. Pass reinstall=True to replace it."
            )

        async def _add_requirement_from_pyodide_lock(self, req):
            locked = self._compat_layer.lockfile_packages.get(req.name)
            if not locked or not req.specifier.contains(locked["version"], prereleases=True):
                return False
            if req.name in self.locked:
                return True
            version = str(locked["version"])
            self.locked[req.name] = PackageMetadata(name=req.name, version=version)
            self.pyodide_packages.append(
                PackageMetadata(name=req.name, version=version, source="pyodide")
            )
            await self.gather_requirements(list(locked.get("depends") or []))
            return True

    index_urls = opts["index_urls"]
    if index_urls is None:
        index_urls = manager.index_urls
    constraints = opts["constraints"]
    if constraints is None:
        constraints = manager.constraints
    fetch_kwargs = {"credentials": opts["credentials"]} if opts["credentials"] else {}
    return PoolTransaction(
        _compat_layer=manager.compat_layer,
        ctx=default_environment(),
        ctx_extras=[],
        keep_going=False,
        deps=opts["deps"],
        pre=opts["pre"],
        fetch_kwargs=fetch_kwargs,
        verbose=opts["verbose"],
        index_urls=index_urls,
        constraints=constraints,
        reinstall=opts["reinstall"],
    )


# ---- unpacking ---------------------------------------------------------------------------


def _safe_members(z: zipfile.ZipFile, filename: str) -> None:
    for name in z.namelist():
        parts = name.split("/")
        if name.startswith("/") or ".." in parts or "\\" in name:
            raise InstallError(f"{filename} holds an unsafe path {name!r}; not installed")


def _merge(src: str, dst: str) -> None:
    """Move ``src`` to ``dst``: directories are merged (namespace packages are shared by
    several distributions), anything else replaces what is there."""
    if os.path.isdir(src) and os.path.isdir(dst) and not os.path.islink(dst):
        for child in os.listdir(src):
            _merge(posixpath.join(src, child), posixpath.join(dst, child))
        os.rmdir(src)
        return
    if os.path.lexists(dst):
        if os.path.isdir(dst) and not os.path.islink(dst):
            shutil.rmtree(dst)
        else:
            os.unlink(dst)
    os.rename(src, dst)


def _remove_dist(site: str, dist: importlib.metadata.Distribution) -> None:
    """Delete an installed distribution's files (by its RECORD), as pip uninstall does."""
    dirs = set()
    for f in dist.files or []:
        path = posixpath.normpath(posixpath.join(site, str(f)))
        if not path.startswith(site + "/"):
            continue
        try:
            os.unlink(path)
        except OSError:
            pass
        dirs.add(posixpath.dirname(path))
    for d in sorted(dirs, key=len, reverse=True):
        while d.startswith(site + "/"):
            try:
                os.rmdir(d)
            except OSError:
                break
            d = posixpath.dirname(d)
    info = getattr(dist, "_path", None)
    if info is not None and os.path.isdir(str(info)):
        shutil.rmtree(str(info), ignore_errors=True)


def _is_dynlib(path: str) -> bool:
    name = posixpath.basename(path)
    if not (name.endswith(".so") or ".so." in name):
        return False
    if any(name.endswith(s) for s in importlib.machinery.EXTENSION_SUFFIXES):
        return True
    # an extension module of another platform, or a plain shared library
    parts = name.split(".")
    return not (len(parts) > 2 and ("linux" in parts[-2] or "darwin" in parts[-2]))


class _Installed:
    def __init__(self, name: str, version: str, source: str, files: list[str]):
        self.name, self.version, self.source, self.files = name, version, source, files

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "source": self.source}


def _unpack(site: str, filename: str, data: bytes, meta: dict[str, str]) -> _Installed:
    """Install the wheel ``data`` into ``site``; returns what it put there (relative
    paths)."""
    staging_root = posixpath.join(site, STAGING_DIR)
    os.makedirs(staging_root, exist_ok=True)
    staging = posixpath.join(staging_root, f"{filename}.{os.getpid()}.{time.monotonic_ns()}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            _safe_members(z, filename)
            z.extractall(staging)
        tops = os.listdir(staging)
        infos = [t for t in tops if t.endswith(".dist-info")]
        if len(infos) != 1:
            raise InstallError(f"{filename} is not a wheel: it has {len(infos)} .dist-info")
        info = infos[0]
        for data_dir in [t for t in tops if t.endswith(".data")]:
            # purelib/platlib belong in site-packages; scripts, headers and data would go
            # to the instance's prefix, which the pool is not: they are dropped.
            for scheme in ("purelib", "platlib"):
                sub = posixpath.join(staging, data_dir, scheme)
                if os.path.isdir(sub):
                    for child in os.listdir(sub):
                        _merge(posixpath.join(sub, child), posixpath.join(staging, child))
            shutil.rmtree(posixpath.join(staging, data_dir))
        dist = importlib.metadata.Distribution.at(posixpath.join(staging, info))
        name, version = dist.metadata["Name"], dist.version
        for key, value in meta.items():
            _write(posixpath.join(staging, info, key), value)
        files = []
        for dirpath, _dirs, names in os.walk(staging):
            for n in names:
                files.append(posixpath.relpath(posixpath.join(dirpath, n), staging))
        for top in sorted(os.listdir(staging), key=lambda t: t == info):
            _merge(posixpath.join(staging, top), posixpath.join(site, top))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return _Installed(name, version, meta.get("PYODIDE_SOURCE", ""), sorted(files))


def _compile(site: str, files: Iterable[str]) -> int:
    """Byte-compile the ``.py`` files; returns how many."""
    n = 0
    for rel in files:
        if rel.endswith(".py"):
            n += bool(compileall.compile_file(posixpath.join(site, rel), quiet=2))
    return n


# ---- install -----------------------------------------------------------------------------


def _wheel_from_lock(name: str) -> tuple[str, str, str | None]:
    entry = _jsglue.lockfile_packages()[name]
    file_name = str(entry["file_name"])
    if "://" in file_name or file_name.startswith("/"):
        url = file_name
    else:
        url = _jsglue.lockfile_base_url().rstrip("/") + "/" + file_name
    return url, posixpath.basename(file_name), entry.get("sha256")


async def install(
    pool: Any,
    requirements: Iterable[str],
    *,
    deps: bool = True,
    pre: bool = False,
    index_urls: list[str] | str | None = None,
    constraints: list[str] | None = None,
    reinstall: bool = False,
    credentials: str | None = None,
    compile: bool = True,
    verbose: bool | int | None = None,
    lock_timeout: float = 600.0,
) -> list[dict[str, Any]]:
    """See :meth:`pyodide_extmemfs.Pool.install`."""
    _jsglue.require_pyodide("Pool.install")
    reqs = _requirements(requirements)
    site = _site_for(pool, create=True)
    async with _InstallLock(pool, site, lock_timeout):
        shutil.rmtree(posixpath.join(site, STAGING_DIR), ignore_errors=True)
        micropip = await _micropip()
        installed_dists = _dists(site)
        installed = {k: d.version for k, d in installed_dists.items()}
        tx = _make_transaction(
            micropip,
            installed,
            {
                "deps": deps,
                "pre": pre,
                "index_urls": index_urls,
                "constraints": constraints,
                "reinstall": reinstall,
                "credentials": credentials,
                "verbose": verbose,
            },
        )
        for req in reqs:  # one at a time, so an error names the requirement it came from
            try:
                await tx.add_requirement(req)
            except Exception as e:
                raise InstallError(
                    f"cannot install {req!r} into the pool: {type(e).__name__}: {e}"
                ) from None
        plan: list[tuple[str, str, bytes, dict[str, str]]] = []
        lock = _jsglue.lockfile_packages() if tx.pyodide_packages else {}
        # A wheel asked for by URL wins over the lock file's copy pulled in as a
        # dependency (the lock's attrs depends on six, say, and six came by URL).
        from_wheels = {_canon(w.name) for w in tx.wheels}
        for pkg in tx.pyodide_packages:
            if _canon(pkg.name) in from_wheels:
                continue
            entry = lock[pkg.name]
            if entry.get("package_type") == "shared_library":
                raise InstallError(
                    f"cannot install {pkg.name!r} into the pool: it is a shared-library "
                    "package of the Pyodide distribution (installed into /usr/lib of each "
                    "instance); load the packages that need it per worker instead "
                    "(Workers(..., worker_packages=[...]))"
                )
            url, filename, sha = _wheel_from_lock(pkg.name)
            try:
                data = await _jsglue.load_binary_file(url)
            except Exception as e:
                raise InstallError(f"cannot fetch {pkg.name!r} from {url}: {e}") from None
            _check_sha(pkg.name, data, sha, url)
            meta = {"PYODIDE_SOURCE": "pyodide", "PYODIDE_URL": url}
            plan.append((pkg.name, filename, data, meta))
        for wheel in tx.wheels:
            data = bytes(wheel._data)
            _check_sha(wheel.name, data, wheel.sha256, wheel.url)
            source = "pypi" if wheel.sha256 is not None else wheel.url
            meta = {"PYODIDE_SOURCE": source, "PYODIDE_URL": wheel.url}
            plan.append((wheel.name, wheel.filename, data, meta))
        done = []
        for name, filename, data, meta in plan:
            meta = {
                **meta,
                "INSTALLER": INSTALLER + "\n",
                "PYODIDE_SHA256": hashlib.sha256(data).hexdigest(),
            }
            old = installed_dists.get(_canon(name))
            try:
                if old is not None:
                    _remove_dist(site, old)
                inst = _unpack(site, filename, data, meta)
                if compile:
                    _compile(site, inst.files)
            except InstallError:
                raise
            except OSError as e:
                raise InstallError(
                    f"cannot install {name!r} into the pool at {site}: {e}"
                    + (" (mounted read-only here)" if e.errno == 30 else "")
                ) from None
            done.append(inst)
        shutil.rmtree(posixpath.join(site, STAGING_DIR), ignore_errors=True)
        importlib.invalidate_caches()
        _run_pth_files(site)
        # Shared libraries of what was installed, and of what was asked for and was
        # already there: loaded here asynchronously (an import then finds them loaded).
        libs = [posixpath.join(site, rel) for inst in done for rel in inst.files]
        now = _dists(site)
        for req in reqs:
            d = now.get(_canon(_req_name(req)))
            if d is not None:
                libs += [posixpath.join(site, str(f)) for f in d.files or []]
        loaded = set(_jsglue.loaded_dynlibs())
        for path in dict.fromkeys(libs):
            if _is_dynlib(path) and path not in loaded and os.path.exists(path):
                await _jsglue.load_dynlib(path)
    return [inst.as_dict() for inst in done]


def _req_name(req: str) -> str:
    """The project name of a requirement string ("" for a URL)."""
    import re

    if "/" in req.split(";")[0].split("@")[0]:
        base = posixpath.basename(req.split("#")[0].split("?")[0])
        return base.split("-")[0] if base.endswith(".whl") else ""
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
    return m.group(1) if m else ""


def _requirements(requirements: Iterable[str]) -> list[str]:
    out = []
    for r in requirements:
        if isinstance(r, str):
            out.append(r)
        elif isinstance(r, Iterable):
            out.extend(_requirements(r))
        else:
            raise TypeError(f"a requirement is a string, got {type(r).__name__}")
    if not out:
        raise ValueError("Pool.install() needs at least one requirement")
    return out


def _check_sha(name: str, data: bytes, expected: str | None, url: str) -> None:
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise InstallError(
            f"cannot install {name!r}: the file from {url} does not match its sha256 ({expected})"
        )
