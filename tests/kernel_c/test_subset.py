"""The C subset: integer semantics, control flow, pointers, and every diagnostic at its line."""

from __future__ import annotations

import pytest

from mmaplab.kernel.mm_types import Ref
from mmaplab.kernel_c import CCompileError, COops, CRuntimeError, compile_c


def run(src: str, name: str = "f", *args: object, env: object = None) -> object:
    return compile_c(src, "t.c").function(name, env)(*args)


def expr(ctype: str, text: str) -> object:
    return run(f"{ctype} f(void)\n{{\n\treturn {text};\n}}\n")


# -- integer semantics ----------------------------------------------------------------------

@pytest.mark.parametrize(("ctype", "text", "want"), [
    ("unsigned long", "0UL - 1", 2**64 - 1),
    ("unsigned long", "~0UL + 2", 1),
    ("unsigned int", "0U - 1", 2**32 - 1),
    ("int", "2147483647 + 1", -2**31),            # wraps: -fno-strict-overflow
    ("long", "2147483647 + 1", -2**31),           # int + int is computed in int
    ("long", "2147483647L + 1", 2**31),
    ("int", "-7 / 2", -3),                        # division truncates toward zero
    ("int", "-7 % 2", -1),
    ("int", "-1 >> 1", -1),                       # arithmetic shift of a signed value
    ("unsigned int", "0x80000000U >> 31", 1),
    ("unsigned long", "1UL << 63", 2**63),
    ("int", "1 << 31", -2**31),
    ("int", "-1 < 0U", 0),                        # -1 converted to unsigned int
    ("int", "-1L < 0U", 1),                       # unsigned int fits in long
    ("int", "-1 < 0UL", 0),
    ("int", "(unsigned char)300", 44),
    ("int", "(signed char)200", -56),             # sign extension
    ("long", "(int)0xffffffffU", -1),
    ("unsigned long", "(unsigned long)(int)-1", 2**64 - 1),
    ("int", "sizeof(unsigned long) + sizeof(int) + sizeof(char)", 13),
    ("int", "4096 == 0x1000 && 010 == 8", 1),
    ("int", "3 ? 4 : 5", 4),
    ("int", "!5 + !0", 1),
    ("unsigned long", "PAGE_SIZE - 1", 4095),
    ("int", "'A'", 65),
])
def test_integer_semantics(ctype: str, text: str, want: int) -> None:
    assert expr(ctype, text) == want


def test_truncation_on_assignment_and_return() -> None:
    src = """
int f(unsigned long big)
{
	unsigned char c = big;
	short s;
	s = big;
	return c + s;
}
"""
    assert run(src, "f", 0x1_2345_6789) == 0x89 + 0x6789
    assert run("unsigned char f(int x)\n{\n\treturn x;\n}\n", "f", 257) == 1


def test_unsigned_long_size_check_overflows_as_in_the_kernel() -> None:
    # An offset near 2**64 plus a size wraps, so a naive "offset + size > limit" passes.
    src = """
int check(unsigned long off, unsigned long size, unsigned long limit)
{
	if (off + size > limit)
		return -EINVAL;
	return 0;
}
"""
    check = compile_c(src).function("check")
    assert check(0x1000, 0x1000, 0x1800) == -22
    assert check(2**64 - 0x1000, 0x2000, 0x1800) == 0  # wrapped: 0x1000 <= limit


def test_shift_out_of_range_is_reported() -> None:
    with pytest.raises(CRuntimeError, match=r"t.c:3: .*shift exponent 64 is too large for "
                       r"64-bit type 'unsigned long'"):
        run("unsigned long f(int n)\n{\n\treturn 1UL << n;\n}\n", "f", 64)


def test_division_by_zero_oopses() -> None:
    with pytest.raises(COops, match=r"divide error.*\n.*\nRIP: f\(\) at t.c:3"):
        run("int f(int n)\n{\n\treturn 10 / n;\n}\n", "f", 0)


# -- control flow ----------------------------------------------------------------------------

GOTO = """
int order[8];
int n;

static void note(int what)
{
	order[n++] = what;
}

int f(int fail_at)
{
	int err;

	note(1);
	if (fail_at == 1) {
		err = -ENOMEM;
		goto out;
	}
	note(2);
	if (fail_at == 2) {
		err = -EINVAL;
		goto undo_one;
	}
	note(3);
	return 0;

undo_one:
	note(-1);
out:
	note(-2);
	return err;
}
"""


@pytest.mark.parametrize(("fail_at", "ret", "order"), [
    (0, 0, [1, 2, 3]), (1, -12, [1, -2]), (2, -22, [1, 2, -1, -2]),
])
def test_goto_unwinding(fail_at: int, ret: int, order: list[int]) -> None:
    inst = compile_c(GOTO).bind()
    assert inst.function("f")(fail_at) == ret
    assert inst.store.order[:inst.store.n] == order


def test_switch_fallthrough_default_and_loops() -> None:
    src = """
int f(int x)
{
	int acc = 0;
	int i;

	switch (x) {
	case 1:
		acc += 10;
	case 2:
		acc += 20;
		break;
	default:
		acc = -1;
	}
	for (i = 0; i < 5; i++) {
		if (i == 1)
			continue;
		if (i == 4)
			break;
		acc += i;
	}
	i = 0;
	while (i < 3)
		i++;
	do {
		acc += 100;
	} while (0);
	return acc + i;
}
"""
    f = compile_c(src).function("f")
    assert f(1) == 10 + 20 + 0 + 2 + 3 + 100 + 3
    assert f(2) == 20 + 5 + 100 + 3
    assert f(7) == -1 + 5 + 100 + 3


def test_endless_loop_is_stopped_by_the_budget() -> None:
    src = "int f(void)\n{\n\tint i = 0;\n\twhile (i >= 0)\n\t\ti = 1;\n\treturn i;\n}\n"
    with pytest.raises(CRuntimeError, match=r"t.c:4: .*time budget"):
        run(src)


def test_out_parameter_and_address_of_local() -> None:
    src = """
static void set(int *p, int v)
{
	*p = v;
}

int mapped(void **vm_private_data)
{
	int x = 1;

	set(&x, 41);
	*vm_private_data = NULL;
	return x + 1;
}
"""
    ref = Ref("old")
    assert run(src, "mapped", ref) == 42
    assert ref.value is None


def test_struct_member_access_through_pointers_and_bound_globals() -> None:
    src = """
int f(struct vm_area_desc *desc)
{
	struct hpet_dev *devp = desc->file->private_data;

	if (!hpet_mmap_enabled)
		return -EACCES;
	return devp->hd_hpets->hp_hpet_phys & (PAGE_SIZE - 1) ? -ENOSYS : 0;
}
"""

    class Obj:
        def __init__(self, **kw: object) -> None:
            self.__dict__.update(kw)

    desc = Obj(file=Obj(private_data=Obj(hd_hpets=Obj(hp_hpet_phys=0xFED00400))))
    prog = compile_c(src)
    assert prog.function("f", Obj(hpet_mmap_enabled=True))(desc) == -38
    assert prog.function("f", Obj(hpet_mmap_enabled=False))(desc) == -13


def test_define_container_of_read_once_and_warn_on() -> None:
    src = """
#define HALF(x) ((x) / 2)
#define LIMIT 8
int f(int v)
{
	int w = READ_ONCE(v);

	WRITE_ONCE(w, HALF(w));
	if (WARN_ON(w > LIMIT))
		return -EINVAL;
	pr_info("w=%d\\n", w);
	return w;
}
"""
    from mmaplab.kernel_c import dmesg

    f = compile_c(src).function("f")
    assert f(10) == 5
    assert dmesg[-1] == "info: w=5"
    assert f(40) == -22
    assert dmesg[-1] == "WARNING: answer.c:9 WARN_ON(w > 8)"


# -- diagnostics, each at its line -------------------------------------------------------------

def diag(src: str) -> str:
    with pytest.raises((CCompileError, CRuntimeError, COops)) as info:
        prog = compile_c(src, "t.c")
        prog.function("f")(*([None] * len(prog.prog.funcs["f"].params)))
    return str(info.value)


def test_unknown_identifier() -> None:
    msg = diag("int f(void)\n{\n\tint addr = 0;\n\treturn adr;\n}\n")
    assert "t.c:4: error: 'adr' undeclared (first use in this function); did you mean 'addr'?" \
        in msg


def test_unknown_member_suggests_the_kernel_name() -> None:
    msg = diag("int f(struct vm_area_desc *desc)\n{\n\treturn desc->vm_flags != 0;\n}\n")
    assert "t.c:3: error: 'struct vm_area_desc' has no member named 'vm_flags'; did you mean " \
        "'vma_flags'?" in msg


def test_implicit_declaration() -> None:
    msg = diag("int f(void)\n{\n\treturn frobnicate(1);\n}\n")
    assert "t.c:3: error: implicit declaration of function 'frobnicate'" in msg


def test_helper_with_wrong_number_of_arguments() -> None:
    msg = diag("int f(struct vm_area_desc *desc)\n{\n\tmmap_action_simple_ioremap(desc, 0);\n"
               "\treturn 0;\n}\n")
    assert "t.c:3: error: too few arguments to function 'mmap_action_simple_ioremap': " \
        "expected 3, have 2" in msg


def test_helper_with_wrong_kind_of_argument() -> None:
    msg = diag("int f(struct vm_area_desc *desc)\n{\n\tdesc->page_prot = "
               "pgprot_noncached(desc);\n\treturn 0;\n}\n")
    assert "t.c:3: error: argument 1 of 'pgprot_noncached': incompatible type: expected " \
        "'pgprot_t' but the value is 'struct vm_area_desc *'" in msg
    msg = diag("int f(struct vm_area_desc *desc)\n{\n\tmmap_action_remap_full(desc, desc);\n"
               "\treturn 0;\n}\n")
    assert "t.c:3: error: argument 2 of 'mmap_action_remap_full' makes integer from pointer " \
        "without a cast" in msg


def test_legacy_vma_helper_on_a_descriptor() -> None:
    msg = diag("int f(struct vm_area_desc *desc)\n{\n\treturn vm_iomap_memory(desc, 0, "
               "PAGE_SIZE);\n}\n")
    assert "t.c:3: error: vm_iomap_memory() is a legacy helper: it needs a struct " \
        "vm_area_struct, which does not exist yet when mmap_prepare runs" in msg
    assert "use mmap_action_simple_ioremap(desc, phys, size)" in msg


def test_uninitialised_variable() -> None:
    msg = diag("int f(void)\n{\n\tint err;\n\n\tif (PAGE_SIZE < 4096)\n\t\terr = 1;\n"
               "\treturn err;\n}\n")
    assert "t.c:7: runtime error: 'err' is used uninitialized" in msg


def test_falling_off_the_end_of_a_non_void_function() -> None:
    msg = diag("int f(int x)\n{\n\tif (x)\n\t\treturn 1;\n}\n")
    assert "t.c:5: error: control reaches end of non-void function" in msg
    # Both branches return, or an unwinding label returns: no diagnostic.
    assert run("int f(int x)\n{\n\tif (x)\n\t\treturn 1;\n\telse\n\t\treturn 2;\n}\n",
               "f", 0) == 2


def test_null_pointer_dereference_oopses_at_the_line() -> None:
    src = "int f(struct vm_area_desc *desc)\n{\n\tunsigned long s;\n\n\ts = desc->start;\n" \
          "\treturn s != 0;\n}\n"
    msg = diag(src)
    assert msg.startswith("BUG: kernel NULL pointer dereference, address: ")
    assert "RIP: f() at t.c:5" in msg


def test_freed_pointer_dereference_oopses() -> None:
    src = """
struct thing { int x; };
int f(void)
{
	struct thing *t = kzalloc(sizeof(*t), GFP_KERNEL);

	kfree(t);
	return t->x;
}
"""
    msg = diag(src)
    assert "BUG: KASAN: slab-use-after-free: struct thing::x read after kfree() at t.c:7" in msg
    assert "RIP: f() at t.c:8" in msg


def test_assignment_to_an_immutable_descriptor_field() -> None:
    msg = diag("int f(struct vm_area_desc *desc)\n{\n\tdesc->start = 0;\n\treturn 0;\n}\n")
    assert "t.c:3: error: assignment of read-only member 'start'" in msg


def test_syntax_error_names_the_line() -> None:
    msg = diag("int f(void)\n{\n\treturn 1\n}\n")
    assert msg.startswith("t.c:4: error: syntax error")


def test_include_of_other_files_is_refused() -> None:
    msg = diag('#include "secret.h"\nint f(void)\n{\n\treturn 0;\n}\n')
    assert "t.c:1: error: \"secret.h\": only mmaplab.h" in msg


def test_pointers_into_arrays() -> None:
    src = """
int a[4] = { 1, 2, 3, 4 };

int f(void)
{
	int *p = &a[1];
	int *q = p + 2;

	*q = 10;
	return *p + a[3] + p[1] + (q - 1)[0];
}
"""
    assert run(src) == 2 + 10 + 3 + 3
    with pytest.raises(COops, match=r"out-of-bounds.*\n.*\nRIP: f\(\) at t.c:6"):
        run("int a[2];\nint f(void)\n{\n\tint *p = a;\n\n\treturn *(p + 3);\n}\n")
