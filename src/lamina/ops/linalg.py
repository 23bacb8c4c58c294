"""Linear algebra (Keras's `ops.linalg`): factorisations, solvers, inverses, determinants, and
forward-mode differentiation (`jvp`). Each op is `torch.linalg`'s, batched over leading axes.
"""

from __future__ import annotations

import warnings

import torch

from lamina.engine import errors
from lamina.ops.core import axis_arg as _axis_arg
from lamina.ops.core import floating, narrows_64_bits, symbolic_op, tensor


def _float(x):
    return floating(tensor(x))


def _square(x, who):
    """`x` as a float tensor, checked to hold square matrices in its last two axes (as Keras)."""
    x = _float(x)
    if x.dim() < 2 or x.shape[-1] != x.shape[-2]:
        raise errors.value_error(
            f"{who}()", "square matrices in the last two axes", f"shape {tuple(x.shape)}"
        )
    return x


@symbolic_op("cholesky")
def cholesky(x, upper=False):
    """The Cholesky factor of a symmetric (Hermitian) positive-definite matrix.

    `x = L @ L.T` for the lower factor `L`, or `x = U.T @ U` for the upper one. Integer inputs are
    computed in float32; leading axes are batch axes.

    Args:
        x: a `(..., n, n)` positive-definite matrix.
        upper: whether to return the upper factor `U` (default False: the lower factor `L`).

    Returns:
        A `(..., n, n)` triangular tensor.

    Example:
        >>> lamina.ops.cholesky(torch.tensor([[4.0, 2.0], [2.0, 5.0]]))
        tensor([[2., 0.],
                [1., 2.]])
    """
    try:
        return torch.linalg.cholesky(_square(x, "cholesky"), upper=upper)
    except torch.linalg.LinAlgError as error:  # a ValueError, as Keras raises
        raise errors.value_error(
            "cholesky()", "symmetric positive-definite matrices", "a matrix that is not"
        ) from error


@symbolic_op("cholesky_inverse")
def cholesky_inverse(x, upper=False):
    """The inverse of a positive-definite matrix, computed from its Cholesky factor.

    Integer inputs are computed in float32; leading axes are batch axes.

    Args:
        x: the `(..., n, n)` Cholesky factor of the matrix `A` (`A = x @ x.T` when lower).
        upper: whether `x` is the upper factor (`A = x.T @ x`) (default False: lower).

    Returns:
        The `(..., n, n)` inverse of `A`.

    Example:
        >>> factor = lamina.ops.cholesky(torch.tensor([[4.0, 2.0], [2.0, 5.0]]))
        >>> lamina.ops.cholesky_inverse(factor)
        tensor([[ 0.3125, -0.1250],
                [-0.1250,  0.2500]])
    """
    return torch.cholesky_inverse(_square(x, "cholesky_inverse"), upper=upper)


@symbolic_op("det")
def det(x):
    """The determinant of a square matrix.

    Integer inputs are computed in float32; leading axes are batch axes.

    Args:
        x: a `(..., n, n)` tensor.

    Returns:
        A `(...)` tensor of determinants.

    Example:
        >>> lamina.ops.det(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        tensor(-2.)
    """
    return torch.linalg.det(_square(x, "det"))


@symbolic_op("slogdet")
def slogdet(x):
    """The sign and the log of the absolute value of the determinant of a square matrix.

    More stable than `log(det(x))` for large matrices. Integer inputs are computed in float32;
    leading axes are batch axes.

    Args:
        x: a `(..., n, n)` tensor.

    Returns:
        A tuple `(sign, logabsdet)` of `(...)` tensors; `det(x) = sign * exp(logabsdet)`.

    Example:
        >>> lamina.ops.slogdet(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        (tensor(-1.), tensor(0.6931))
    """
    return tuple(torch.linalg.slogdet(_float(x)))


@symbolic_op("logdet")
def logdet(x):
    """The natural log of the determinant of a (Hermitian) positive-definite matrix.

    A negative determinant gives NaN. Integer inputs are computed in float32; leading axes are batch
    axes.

    Args:
        x: a `(..., n, n)` tensor.

    Returns:
        A `(...)` tensor.

    Example:
        >>> lamina.ops.logdet(torch.tensor([[np.e, 0.0], [0.0, 1.0]])).round(decimals=4)
        tensor(1.)
    """
    return torch.logdet(_float(x))


@symbolic_op("eig")
def eig(x):
    """The eigenvalues and eigenvectors of a general square matrix.

    The results are complex, even for a real matrix. Integer inputs are computed in float32; leading
    axes are batch axes.

    Args:
        x: a `(..., n, n)` tensor.

    Returns:
        A tuple `(eigenvalues, eigenvectors)`: `(..., n)` and `(..., n, n)` complex tensors, the
        eigenvectors in the columns.

    Example:
        >>> values, vectors = lamina.ops.eig(torch.tensor([[2.0, 0.0], [0.0, 3.0]]))
        >>> values
        tensor([2.+0.j, 3.+0.j])
    """
    return tuple(torch.linalg.eig(_square(x, "eig")))


@symbolic_op("eigh")
def eigh(x):
    """The eigenvalues and eigenvectors of a symmetric (Hermitian) matrix.

    Only the lower triangle of `x` is read. Integer inputs are computed in float32; leading axes are
    batch axes.

    Args:
        x: a `(..., n, n)` symmetric tensor.

    Returns:
        A tuple `(eigenvalues, eigenvectors)`: the real eigenvalues in ascending order, `(..., n)`,
        and the eigenvectors in the columns of a `(..., n, n)` tensor.

    Example:
        >>> values, vectors = lamina.ops.eigh(torch.tensor([[2.0, 1.0], [1.0, 2.0]]))
        >>> values
        tensor([1., 3.])
    """
    return tuple(torch.linalg.eigh(_square(x, "eigh")))


@symbolic_op("inv")
def inv(x):
    """The inverse of a square matrix.

    Integer inputs are computed in float32; leading axes are batch axes.

    Args:
        x: a `(..., n, n)` invertible tensor.

    Returns:
        The `(..., n, n)` inverse.

    Example:
        >>> lamina.ops.inv(torch.tensor([[2.0, 0.0], [0.0, 4.0]]))
        tensor([[0.5000, 0.0000],
                [0.0000, 0.2500]])
    """
    return torch.linalg.inv(_square(x, "inv"))


@symbolic_op("pinv")
def pinv(x, rcond=None):
    """The Moore-Penrose pseudo-inverse of a matrix of any shape.

    Integer inputs are computed in float32; leading axes are batch axes.

    Args:
        x: a `(..., m, n)` tensor.
        rcond: relative cutoff: singular values below `rcond` times the largest count as zero
            (default None: torch's default, based on the dtype's precision).

    Returns:
        The `(..., n, m)` pseudo-inverse.

    Example:
        >>> lamina.ops.pinv(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
        tensor([[1., 0.],
                [0., 0.]])
    """
    return torch.linalg.pinv(_float(x), rtol=rcond)


@symbolic_op("matrix_rank")
def matrix_rank(x, tol=None):
    """The numerical rank of a matrix: the number of singular values above a tolerance.

    Integer inputs are computed in float32; leading axes are batch axes.

    Args:
        x: a `(..., m, n)` tensor.
        tol: the absolute tolerance (default None: NumPy's rule, relative to the largest singular
            value and the dtype's precision).

    Returns:
        An int32 `(...)` tensor of ranks.

    Example:
        >>> lamina.ops.matrix_rank(torch.tensor([[1.0, 2.0], [2.0, 4.0]]))
        tensor(1, dtype=torch.int32)
    """
    return torch.linalg.matrix_rank(_float(x), atol=tol, rtol=None if tol is None else 0.0).to(
        torch.int32
    )


@symbolic_op("lu_factor")
def lu_factor(x):
    """The LU factorization of a square matrix with partial pivoting, in packed form.

    Integer inputs are computed in float32; leading axes are batch axes.

    Args:
        x: a `(..., n, n)` tensor.

    Returns:
        A tuple `(lu, pivots)`: `L` (below the diagonal, unit diagonal implied) and `U` (on and
        above
        it) packed in one `(..., n, n)` tensor, and the 0-based int32 row swaps `(..., n)`, in
        order.

    Example:
        >>> lu, pivots = lamina.ops.lu_factor(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        >>> lu
        tensor([[3.0000, 4.0000],
                [0.3333, 0.6667]])
        >>> pivots
        tensor([1, 1], dtype=torch.int32)
    """
    lu, pivots = torch.linalg.lu_factor(_float(x))
    return lu, (pivots - 1).to(torch.int32)


@symbolic_op("qr")
def qr(x, mode="reduced"):
    """The QR factorization of a matrix: `x = Q @ R` with orthonormal `Q` and upper-triangular `R`.

    Integer inputs are computed in float32; leading axes are batch axes.

    Args:
        x: a `(..., m, n)` tensor.
        mode: `"reduced"` (default: `Q` is `(..., m, k)` and `R` `(..., k, n)` with `k = min(m, n)`)
            or `"complete"` (`Q` is `(..., m, m)` and `R` `(..., m, n)`).

    Returns:
        A tuple `(q, r)`.

    Example:
        >>> q, r = lamina.ops.qr(torch.tensor([[3.0, 1.0], [4.0, 2.0], [0.0, 0.0]]))
        >>> lamina.ops.shape(q), lamina.ops.shape(r)
        ((3, 2), (2, 2))
        >>> torch.allclose(q @ r, torch.tensor([[3.0, 1.0], [4.0, 2.0], [0.0, 0.0]]))
        True
    """
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr() expects mode in ['reduced', 'complete']; received mode={mode!r}.")
    return tuple(torch.linalg.qr(_float(x), mode=mode))


@symbolic_op("svd")
def svd(x, full_matrices=True, compute_uv=True):
    """The singular value decomposition of a matrix: `x = U @ diag(S) @ Vh`.

    Integer inputs are computed in float32; leading axes are batch axes.

    Args:
        x: a `(..., m, n)` tensor.
        full_matrices: whether `U` and `Vh` are square, `(m, m)` and `(n, n)` (default True), or
            reduced to `(m, k)` and `(k, n)` with `k = min(m, n)`.
        compute_uv: whether to compute `U` and `Vh` (default True); if False only `S` is returned.

    Returns:
        A tuple `(u, s, vh)` with the singular values `s` in descending order, or `s` alone when
        `compute_uv` is False.

    Example:
        >>> lamina.ops.svd(torch.tensor([[3.0, 0.0], [0.0, -4.0]]), compute_uv=False)
        tensor([4., 3.])
    """
    x = _float(x)
    if not compute_uv:
        return torch.linalg.svdvals(x)
    return tuple(torch.linalg.svd(x, full_matrices=full_matrices))


@symbolic_op("solve")
def solve(a, b):
    """Solve the linear system `a @ x = b` for `x`.

    Integer inputs are computed in float32; leading axes are batch axes.

    Args:
        a: a `(..., n, n)` invertible coefficient matrix.
        b: the right-hand side, `(..., n)` or `(..., n, k)`.

    Returns:
        The solution `x`, shaped like `b`.

    Example:
        >>> lamina.ops.solve(torch.tensor([[2.0, 0.0], [0.0, 4.0]]), torch.tensor([2.0, 2.0]))
        tensor([1.0000, 0.5000])
    """
    a = _float(a)
    return torch.linalg.solve(a, tensor(b).to(a.dtype))


@symbolic_op("solve_triangular")
def solve_triangular(a, b, lower=False):
    """Solve `a @ x = b` for `x` when `a` is triangular.

    Only the triangle named by `lower` is read. Integer inputs are computed in float32; leading axes
    are batch axes.

    Args:
        a: a `(..., n, n)` triangular coefficient matrix.
        b: the right-hand side, `(..., n)` (one vector) or `(..., n, k)`.
        lower: whether `a` is lower triangular (default False: upper).

    Returns:
        The solution `x`, shaped like `b`.

    Example:
        >>> a = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
        >>> lamina.ops.solve_triangular(a, torch.tensor([4.0, 3.0]), lower=True)
        tensor([2., 1.])
    """
    a = _float(a)
    b = tensor(b).to(a.dtype)
    vector = b.dim() == a.dim() - 1
    out = torch.linalg.solve_triangular(a, b.unsqueeze(-1) if vector else b, upper=not lower)
    return out.squeeze(-1) if vector else out


@symbolic_op("lstsq")
def lstsq(a, b, rcond=None):
    """The least-squares solution `x` of `a @ x = b`, minimizing `|a @ x - b|`.

    Computed through the pseudo-inverse, so `a` may be of any shape. Integer inputs are computed in
    float32; leading axes are batch axes.

    Args:
        a: a `(..., m, n)` coefficient matrix.
        b: the right-hand side, `(..., m)` or `(..., m, k)`.
        rcond: relative cutoff for small singular values of `a` (default None: torch's default).

    Returns:
        The solution, `(..., n)` or `(..., n, k)`.

    Example:
        >>> a = torch.tensor([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
        >>> lamina.ops.lstsq(a, torch.tensor([1.0, 2.0, 3.0]))
        tensor([1.0000, 1.0000])
    """
    a = _float(a)
    b = tensor(b).to(a.dtype)
    vector = b.dim() == 1
    out = torch.linalg.pinv(a, rtol=rcond) @ (b.unsqueeze(-1) if vector else b)
    return out.squeeze(-1) if vector else out


def jvp(fun, primals, tangents, has_aux=False):
    """Evaluate `fun` and its Jacobian-vector product at `primals` along `tangents` (forward mode).

    Args:
        fun: a function of tensors, called as `fun(*primals)`.
        primals: a tuple (or list) of the points at which to evaluate `fun`.
        tangents: a tuple (or list) of the directions, one per primal, of the same shapes.
        has_aux: whether `fun` returns a pair `(output, aux)` (default False); `aux` is passed
            through without differentiation.

    Returns:
        A tuple `(output, jvp)`, or `(output, jvp, aux)` when `has_aux` is True.

    Example:
        >>> lamina.ops.jvp(lambda x: x**2, (torch.tensor([1.0, 3.0]),), (torch.tensor([1.0, 1.0]),))
        (tensor([1., 9.]), tensor([2., 6.]))
    """
    primals = tuple(tensor(p) for p in primals)
    tangents = tuple(tensor(t).to(p.dtype) for p, t in zip(primals, tangents, strict=True))
    with warnings.catch_warnings():
        # torch's first forward-mode call scripts its decompositions with the deprecated
        # torch.jit.script; that warning is torch's own, not the caller's.
        warnings.filterwarnings("ignore", "`torch.jit.script` is deprecated", DeprecationWarning)
        return torch.func.jvp(fun, primals, tangents, has_aux=has_aux)


@symbolic_op("norm")
@narrows_64_bits
def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - Keras's name
    """A vector or matrix norm.

    With `axis=None`, a 1-D `x` gets a vector norm and a 2-D `x` a matrix norm; other ranks are
    flattened (2-norm). Integer inputs are computed in float32.

    Args:
        x: input tensor.
        ord: the order of the norm (default None: the 2-norm for vectors, Frobenius for matrices);
            vector norms take a number or `inf`, matrix norms also `"fro"` and `"nuc"`.
        axis: an int (vector norms) or a pair of ints (matrix norms) to take the norm over
            (default None: see above).
        keepdims: whether to keep the reduced axes as size 1 (default False).

    Returns:
        The norms.

    Example:
        >>> lamina.ops.norm(torch.tensor([3.0, 4.0]))
        tensor(5.)
        >>> lamina.ops.norm(torch.tensor([[3.0, -4.0], [1.0, 0.0]]), ord=1, axis=1)
        tensor([7., 1.])
    """
    return torch.linalg.norm(_float(x), ord=ord, dim=_axis_arg(axis), keepdim=keepdims)
