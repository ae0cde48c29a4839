/* Tests for .npy/.npz reading and writing (csrc/core/npy.c, csrc/core/zip.c).
 *
 * Independent references:
 *  - byte-string fixtures written by NumPy 1.24.2 (np.save, np.lib.format.write_array with
 *    version (2,0)/(3,0), np.savez, np.savez_compressed, np.savez_compressed to a non-seekable
 *    stream (zip data descriptors), and np.savez with zipfile.ZIP64_LIMIT lowered to 64 and
 *    ZIP_FILECOUNT_LIMIT to 1 so that Python writes zip64 central-directory extras and the zip64
 *    end records on a small file).  They were produced by this script (Python 3.11, run outside
 *    the repository) and pasted below:
 *
 *      A = {}   # arrays, named as the fixtures fx_npy_<name>
 *      A['f8'] = np.array([[1.5, -2.25, 3e300], [np.pi, -0.0, 1e-310]], '<f8')
 *      A['f4'] = np.array([[1.5, -2.25], [3.0e38, 1e-40], [7.0, 0.1]], '<f4')
 *      A['i4'] = np.array([-2**31, 2**31 - 1, 0, -1, 12345], '<i4')
 *      A['i8'] = np.array([[-2**63, 2**63 - 1], [0, -1]], '<i8')
 *      A['u1'] = np.array([[[0, 1], [127, 128]], [[254, 255], [3, 4]]], '|u1')
 *      A['b1'] = np.array([True, False, True])
 *      A['be_f8'] = np.array([[1.5, -2.25], [np.pi, 1e-310]], '>f8')
 *      A['be_f4'] = np.array([1.5, -2.25, 0.1], '>f4')
 *      A['be_i4'] = np.array([[1, -2, 70000]], '>i4')
 *      A['be_i8'] = np.array([-2**40, 5], '>i8')
 *      A['fort_i4'] = np.asfortranarray(np.arange(24, dtype='<i4').reshape(2, 3, 4))
 *      A['fort_be_f8'] = np.asfortranarray((np.arange(6) * 0.5 - 1).reshape(2, 3).astype('>f8'))
 *      A['scalar'] = np.array(3.25)
 *      A['empty'] = np.zeros((0, 3))
 *      each: b = io.BytesIO(); np.save(b, a)
 *      fx_npy_f8_v2 / _v3: np.lib.format.write_array(b, A['f8'], version=(2, 0) / (3, 0))
 *      members = dict(x=A['f8'], idx=np.array([7, -8, 9, 10, -11], '<i8'), flag=A['b1'],
 *                     s=A['scalar'])
 *      fx_npz_stored: np.savez(b, **members); fx_npz_deflate: np.savez_compressed(b, **members)
 *      fx_npz_datadesc: np.savez_compressed(u, **members), u an io.RawIOBase with
 *                       seekable() False
 *      fx_npz_zip64: zipfile.ZIP64_LIMIT = 64; zipfile.ZIP_FILECOUNT_LIMIT = 1; np.savez(...)
 *      fx_npy_growth: np.lib.format.write_array_header_1_0(b, {'descr': '<f8',
 *                     'fortran_order': False, 'shape': (0, 10**12, 10**12, 10**12)})
 *                     (header only: the one shape class where numpy's growth padding shows)
 *      fx_npz_trailing: zipfile.ZipFile(b, 'w', ZIP_DEFLATED).writestr('a.npy', c) with
 *                     c = np.save bytes of np.arange(3.) + b'XYZ' (bytes after the array)
 *      fx_npz_long:   the same with the size and CRC-32 in both headers patched to those of
 *                     c[:-3], so the deflate stream holds 3 bytes more than the directory says
 *      bytes printed as C string literals (octal escapes for non-printable bytes).
 *  - ../shared/data/quests_ref/<name>.quests_x.npy with the sums and first rows in reference.json
 *    (written by QUESTS/numpy; see that folder's README);
 *  - hand-written headers (Fortran order, malformed headers) built in the tests themselves;
 *  - optionally NumPy itself: if python3 with numpy is installed, it loads files we wrote.
 */
#include "strata.h"
#include "check.h"
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <zlib.h>

/* clang-format off */
static const char fx_npy_f8[] =
    "\223NUMPY\001\000v\000{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }           "
    "                                               \012\000\000\000\000\000\000\370\077\000\000\000"
    "\000\000\000\002\3005X\000f-\353Q~\030-DT\373!\011@\000\000\000\000\000\000\000\200+\346p\213"
    "h\022\000\000";
static const char fx_npy_f4[] =
    "\223NUMPY\001\000v\000{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }           "
    "                                               \012\000\000\300\077\000\000\020\300\346\261a"
    "\177\302\026\001\000\000\000\340@\315\314\314=";
static const char fx_npy_i4[] =
    "\223NUMPY\001\000v\000{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }             "
    "                                               \012\000\000\000\200\377\377\377\177\000\000\000"
    "\000\377\377\377\37790\000\000";
static const char fx_npy_i8[] =
    "\223NUMPY\001\000v\000{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }           "
    "                                               \012\000\000\000\000\000\000\000\200\377\377\377"
    "\377\377\377\377\177\000\000\000\000\000\000\000\000\377\377\377\377\377\377\377\377";
static const char fx_npy_u1[] =
    "\223NUMPY\001\000v\000{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 2), }        "
    "                                               \012\000\001\177\200\376\377\003\004";
static const char fx_npy_b1[] =
    "\223NUMPY\001\000v\000{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }             "
    "                                               \012\001\000\001";
static const char fx_npy_be_f8[] =
    "\223NUMPY\001\000v\000{'descr': '>f8', 'fortran_order': False, 'shape': (2, 2), }           "
    "                                               \012\077\370\000\000\000\000\000\000\300\002\000"
    "\000\000\000\000\000@\011!\373TD-\030\000\000\022h\213p\346+";
static const char fx_npy_be_f4[] =
    "\223NUMPY\001\000v\000{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }             "
    "                                               \012\077\300\000\000\300\020\000\000=\314\314"
    "\315";
static const char fx_npy_be_i4[] =
    "\223NUMPY\001\000v\000{'descr': '>i4', 'fortran_order': False, 'shape': (1, 3), }           "
    "                                               \012\000\000\000\001\377\377\377\376\000\001\021"
    "p";
static const char fx_npy_be_i8[] =
    "\223NUMPY\001\000v\000{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }             "
    "                                               \012\377\377\377\000\000\000\000\000\000\000\000"
    "\000\000\000\000\005";
static const char fx_npy_fort_i4[] =
    "\223NUMPY\001\000v\000{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3, 4), }         "
    "                                               \012\000\000\000\000\014\000\000\000\004\000\000"
    "\000\020\000\000\000\010\000\000\000\024\000\000\000\001\000\000\000\015\000\000\000\005\000"
    "\000\000\021\000\000\000\011\000\000\000\025\000\000\000\002\000\000\000\016\000\000\000\006"
    "\000\000\000\022\000\000\000\012\000\000\000\026\000\000\000\003\000\000\000\017\000\000\000"
    "\007\000\000\000\023\000\000\000\013\000\000\000\027\000\000\000";
static const char fx_npy_fort_be_f8[] =
    "\223NUMPY\001\000v\000{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3), }            "
    "                                               \012\277\360\000\000\000\000\000\000\077\340\000"
    "\000\000\000\000\000\277\340\000\000\000\000\000\000\077\360\000\000\000\000\000\000\000\000"
    "\000\000\000\000\000\000\077\370\000\000\000\000\000\000";
static const char fx_npy_scalar[] =
    "\223NUMPY\001\000v\000{'descr': '<f8', 'fortran_order': False, 'shape': (), }               "
    "                                               \012\000\000\000\000\000\000\012@";
static const char fx_npy_empty[] =
    "\223NUMPY\001\000v\000{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }           "
    "                                               \012";
static const char fx_npy_f8_v2[] =
    "\223NUMPY\002\000t\000\000\000{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }   "
    "                                                     \012\000\000\000\000\000\000\370\077\000"
    "\000\000\000\000\000\002\3005X\000f-\353Q~\030-DT\373!\011@\000\000\000\000\000\000\000\200+"
    "\346p\213h\022\000\000";
static const char fx_npy_f8_v3[] =
    "\223NUMPY\003\000t\000\000\000{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }   "
    "                                                     \012\000\000\000\000\000\000\370\077\000"
    "\000\000\000\000\000\002\3005X\000f-\353Q~\030-DT\373!\011@\000\000\000\000\000\000\000\200+"
    "\346p\213h\022\000\000";
static const char fx_npz_stored[] =
    "PK\003\004\024\000\000\000\000\000\000\000!\000\374\321hh\260\000\000\000\260\000\000\000\005"
    "\000\024\000x.npy\001\000\020\000\260\000\000\000\000\000\000\000\260\000\000\000\000\000\000"
    "\000\223NUMPY\001\000v\000{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }       "
    "                                                   \012\000\000\000\000\000\000\370\077\000\000"
    "\000\000\000\000\002\3005X\000f-\353Q~\030-DT\373!\011@\000\000\000\000\000\000\000\200+\346"
    "p\213h\022\000\000PK\003\004\024\000\000\000\000\000\000\000!\000\3508\021\205\250\000\000\000"
    "\250\000\000\000\007\000\024\000idx.npy\001\000\020\000\250\000\000\000\000\000\000\000\250\000"
    "\000\000\000\000\000\000\223NUMPY\001\000v\000{'descr': '<i8', 'fortran_order': False, 'shap"
    "e': (5,), }                                                            \012\007\000\000\000\000"
    "\000\000\000\370\377\377\377\377\377\377\377\011\000\000\000\000\000\000\000\012\000\000\000"
    "\000\000\000\000\365\377\377\377\377\377\377\377PK\003\004\024\000\000\000\000\000\000\000!\000"
    "\026\223\214\273\203\000\000\000\203\000\000\000\010\000\024\000flag.npy\001\000\020\000\203"
    "\000\000\000\000\000\000\000\203\000\000\000\000\000\000\000\223NUMPY\001\000v\000{'descr': "
    "'|b1', 'fortran_order': False, 'shape': (3,), }                                             "
    "               \012\001\000\001PK\003\004\024\000\000\000\000\000\000\000!\000\273\231\271\015"
    "\210\000\000\000\210\000\000\000\005\000\024\000s.npy\001\000\020\000\210\000\000\000\000\000"
    "\000\000\210\000\000\000\000\000\000\000\223NUMPY\001\000v\000{'descr': '<f8', 'fortran_orde"
    "r': False, 'shape': (), }                                                              \012\000"
    "\000\000\000\000\000\012@PK\001\002\024\003\024\000\000\000\000\000\000\000!\000\374\321hh\260"
    "\000\000\000\260\000\000\000\005\000\000\000\000\000\000\000\000\000\000\000\200\001\000\000"
    "\000\000x.npyPK\001\002\024\003\024\000\000\000\000\000\000\000!\000\3508\021\205\250\000\000"
    "\000\250\000\000\000\007\000\000\000\000\000\000\000\000\000\000\000\200\001\347\000\000\000"
    "idx.npyPK\001\002\024\003\024\000\000\000\000\000\000\000!\000\026\223\214\273\203\000\000\000"
    "\203\000\000\000\010\000\000\000\000\000\000\000\000\000\000\000\200\001\310\001\000\000flag"
    ".npyPK\001\002\024\003\024\000\000\000\000\000\000\000!\000\273\231\271\015\210\000\000\000\210"
    "\000\000\000\005\000\000\000\000\000\000\000\000\000\000\000\200\001\205\002\000\000s.npyPK\005"
    "\006\000\000\000\000\004\000\004\000\321\000\000\000D\003\000\000\000\000";
static const char fx_npz_deflate[] =
    "PK\003\004\024\000\000\000\010\000\000\000!\000\374\321hhk\000\000\000\260\000\000\000\005\000"
    "\024\000x.npy\001\000\020\000\260\000\000\000\000\000\000\000k\000\000\000\000\000\000\000\233"
    "\354\027\352\033\020\311\310P\306P\255\236\222Z\234\134\244n\245\240n\223f\241\256\243\240\236"
    "\226_TR\224\230\027\237_\224\222\012\022wK\314)N\005\212\027g$\026\244\002\371\032F:\012\306"
    "\232:\012\265\012d\003.\0060\370a\017\241\231\016\230F0\244\351\276\016\254\223\320u\011\371"
    "\255\310\351\000\021gh\320~V\320\235!\304\300\000\000PK\003\004\024\000\000\000\010\000\000\000"
    "!\000\3508\021\205T\000\000\000\250\000\000\000\007\000\024\000idx.npy\001\000\020\000\250\000"
    "\000\000\000\000\000\000T\000\000\000\000\000\000\000\233\354\027\352\033\020\311\310P\306P\255"
    "\236\222Z\234\134\244n\245\240n\223i\241\256\243\240\236\226_TR\224\230\027\237_\224\222\012"
    "\022wK\314)N\005\212\027g$\026\244\002\371\032\246:\232:\012\265\012\024\000.v\006\010\370\361"
    "\037\0028\241|.(\375\025*\016\000PK\003\004\024\000\000\000\010\000\000\000!\000\026\223\214"
    "\273G\000\000\000\203\000\000\000\010\000\024\000flag.npy\001\000\020\000\203\000\000\000\000"
    "\000\000\000G\000\000\000\000\000\000\000\233\354\027\352\033\020\311\310P\306P\255\236\222Z"
    "\234\134\244n\245\240^\223d\250\256\243\240\236\226_TR\224\230\027\237_\224\222\012\022wK\314"
    ")N\005\212\027g$\026\244\002\371\032\306:\232:\012\265\012\024\000.F\006F\000PK\003\004\024\000"
    "\000\000\010\000\000\000!\000\273\231\271\015G\000\000\000\210\000\000\000\005\000\024\000s."
    "npy\001\000\020\000\210\000\000\000\000\000\000\000G\000\000\000\000\000\000\000\233\354\027"
    "\352\033\020\311\310P\306P\255\236\222Z\234\134\244n\245\240n\223f\241\256\243\240\236\226_T"
    "R\224\230\027\237_\224\222\012\022wK\314)N\005\212\027g$\026\244\002\371\032\232:\012\265\012"
    "\024\001.\0060\340r\000\000PK\001\002\024\003\024\000\000\000\010\000\000\000!\000\374\321hh"
    "k\000\000\000\260\000\000\000\005\000\000\000\000\000\000\000\000\000\000\000\200\001\000\000"
    "\000\000x.npyPK\001\002\024\003\024\000\000\000\010\000\000\000!\000\3508\021\205T\000\000\000"
    "\250\000\000\000\007\000\000\000\000\000\000\000\000\000\000\000\200\001\242\000\000\000idx."
    "npyPK\001\002\024\003\024\000\000\000\010\000\000\000!\000\026\223\214\273G\000\000\000\203\000"
    "\000\000\010\000\000\000\000\000\000\000\000\000\000\000\200\001/\001\000\000flag.npyPK\001\002"
    "\024\003\024\000\000\000\010\000\000\000!\000\273\231\271\015G\000\000\000\210\000\000\000\005"
    "\000\000\000\000\000\000\000\000\000\000\000\200\001\260\001\000\000s.npyPK\005\006\000\000\000"
    "\000\004\000\004\000\321\000\000\000.\002\000\000\000\000";
static const char fx_npz_datadesc[] =
    "PK\003\004\024\000\010\000\010\000\000\000!\000\000\000\000\000\000\000\000\000\000\000\000\000"
    "\005\000\024\000x.npy\001\000\020\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000"
    "\000\000\233\354\027\352\033\020\311\310P\306P\255\236\222Z\234\134\244n\245\240n\223f\241\256"
    "\243\240\236\226_TR\224\230\027\237_\224\222\012\022wK\314)N\005\212\027g$\026\244\002\371\032"
    "F:\012\306\232:\012\265\012d\003.\0060\370a\017\241\231\016\230F0\244\351\276\016\254\223\320"
    "u\011\371\255\310\351\000\021gh\320~V\320\235!\304\300\000\000PK\007\010\374\321hhk\000\000\000"
    "\000\000\000\000\260\000\000\000\000\000\000\000PK\003\004\024\000\010\000\010\000\000\000!\000"
    "\000\000\000\000\000\000\000\000\000\000\000\000\007\000\024\000idx.npy\001\000\020\000\000\000"
    "\000\000\000\000\000\000\000\000\000\000\000\000\000\000\233\354\027\352\033\020\311\310P\306"
    "P\255\236\222Z\234\134\244n\245\240n\223i\241\256\243\240\236\226_TR\224\230\027\237_\224\222"
    "\012\022wK\314)N\005\212\027g$\026\244\002\371\032\246:\232:\012\265\012\024\000.v\006\010\370"
    "\361\037\0028\241|.(\375\025*\016\000PK\007\010\3508\021\205T\000\000\000\000\000\000\000\250"
    "\000\000\000\000\000\000\000PK\003\004\024\000\010\000\010\000\000\000!\000\000\000\000\000\000"
    "\000\000\000\000\000\000\000\010\000\024\000flag.npy\001\000\020\000\000\000\000\000\000\000"
    "\000\000\000\000\000\000\000\000\000\000\233\354\027\352\033\020\311\310P\306P\255\236\222Z\234"
    "\134\244n\245\240^\223d\250\256\243\240\236\226_TR\224\230\027\237_\224\222\012\022wK\314)N\005"
    "\212\027g$\026\244\002\371\032\306:\232:\012\265\012\024\000.F\006F\000PK\007\010\026\223\214"
    "\273G\000\000\000\000\000\000\000\203\000\000\000\000\000\000\000PK\003\004\024\000\010\000\010"
    "\000\000\000!\000\000\000\000\000\000\000\000\000\000\000\000\000\005\000\024\000s.npy\001\000"
    "\020\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\233\354\027\352\033"
    "\020\311\310P\306P\255\236\222Z\234\134\244n\245\240n\223f\241\256\243\240\236\226_TR\224\230"
    "\027\237_\224\222\012\022wK\314)N\005\212\027g$\026\244\002\371\032\232:\012\265\012\024\001"
    ".\0060\340r\000\000PK\007\010\273\231\271\015G\000\000\000\000\000\000\000\210\000\000\000\000"
    "\000\000\000PK\001\002\024\003\024\000\010\000\010\000\000\000!\000\374\321hhk\000\000\000\260"
    "\000\000\000\005\000\000\000\000\000\000\000\000\000\000\000\200\001\000\000\000\000x.npyPK\001"
    "\002\024\003\024\000\010\000\010\000\000\000!\000\3508\021\205T\000\000\000\250\000\000\000\007"
    "\000\000\000\000\000\000\000\000\000\000\000\200\001\272\000\000\000idx.npyPK\001\002\024\003"
    "\024\000\010\000\010\000\000\000!\000\026\223\214\273G\000\000\000\203\000\000\000\010\000\000"
    "\000\000\000\000\000\000\000\000\000\200\001_\001\000\000flag.npyPK\001\002\024\003\024\000\010"
    "\000\010\000\000\000!\000\273\231\271\015G\000\000\000\210\000\000\000\005\000\000\000\000\000"
    "\000\000\000\000\000\000\200\001\370\001\000\000s.npyPK\005\006\000\000\000\000\004\000\004\000"
    "\321\000\000\000\216\002\000\000\000\000";
static const char fx_npy_growth[] =
    "\223NUMPY\001\000\266\000{'descr': '<f8', 'fortran_order': False, 'shape': (0, 1000000000000"
    ", 1000000000000, 1000000000000), }                                                          "
    "                      \012";
static const char fx_npz_trailing[] =
    "PK\003\004\024\000\000\000\010\000+Fu]\367\321\377\031O\000\000\000\233\000\000\000\005\000\000"
    "\000a.npy\233\354\027\352\033\020\311\310P\306P\255\236\222Z\234\134\244n\245\240n\223f\241\256"
    "\243\240\236\226_TR\224\230\027\237_\224\222\012\022wK\314)N\005\212\027g$\026\244\002\371\032"
    "\306:\232:\012\265\012\024\000.\006\024\360\301\036\312p\210\210\214\002\000PK\001\002\024\003"
    "\024\000\000\000\010\000+Fu]\367\321\377\031O\000\000\000\233\000\000\000\005\000\000\000\000"
    "\000\000\000\000\000\000\000\200\001\000\000\000\000a.npyPK\005\006\000\000\000\000\001\000\001"
    "\0003\000\000\000r\000\000\000\000\000";
static const char fx_npz_long[] =
    "PK\003\004\024\000\000\000\010\000+Fu]$!\341+O\000\000\000\230\000\000\000\005\000\000\000a."
    "npy\233\354\027\352\033\020\311\310P\306P\255\236\222Z\234\134\244n\245\240n\223f\241\256\243"
    "\240\236\226_TR\224\230\027\237_\224\222\012\022wK\314)N\005\212\027g$\026\244\002\371\032\306"
    ":\232:\012\265\012\024\000.\006\024\360\301\036\312p\210\210\214\002\000PK\001\002\024\003\024"
    "\000\000\000\010\000+Fu]$!\341+O\000\000\000\230\000\000\000\005\000\000\000\000\000\000\000"
    "\000\000\000\000\200\001\000\000\000\000a.npyPK\005\006\000\000\000\000\001\000\001\0003\000"
    "\000\000r\000\000\000\000\000";
static const char fx_npz_zip64[] =
    "PK\003\004-\000\000\000\000\000\000\000!\000\374\321hh\377\377\377\377\377\377\377\377\005\000"
    "\024\000x.npy\001\000\020\000\260\000\000\000\000\000\000\000\260\000\000\000\000\000\000\000"
    "\223NUMPY\001\000v\000{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }           "
    "                                               \012\000\000\000\000\000\000\370\077\000\000\000"
    "\000\000\000\002\3005X\000f-\353Q~\030-DT\373!\011@\000\000\000\000\000\000\000\200+\346p\213"
    "h\022\000\000PK\003\004-\000\000\000\000\000\000\000!\000\3508\021\205\377\377\377\377\377\377"
    "\377\377\007\000\024\000idx.npy\001\000\020\000\250\000\000\000\000\000\000\000\250\000\000\000"
    "\000\000\000\000\223NUMPY\001\000v\000{'descr': '<i8', 'fortran_order': False, 'shape': (5,)"
    ", }                                                            \012\007\000\000\000\000\000\000"
    "\000\370\377\377\377\377\377\377\377\011\000\000\000\000\000\000\000\012\000\000\000\000\000"
    "\000\000\365\377\377\377\377\377\377\377PK\003\004-\000\000\000\000\000\000\000!\000\026\223"
    "\214\273\377\377\377\377\377\377\377\377\010\000\024\000flag.npy\001\000\020\000\203\000\000"
    "\000\000\000\000\000\203\000\000\000\000\000\000\000\223NUMPY\001\000v\000{'descr': '|b1', '"
    "fortran_order': False, 'shape': (3,), }                                                     "
    "       \012\001\000\001PK\003\004-\000\000\000\000\000\000\000!\000\273\231\271\015\377\377\377"
    "\377\377\377\377\377\005\000\024\000s.npy\001\000\020\000\210\000\000\000\000\000\000\000\210"
    "\000\000\000\000\000\000\000\223NUMPY\001\000v\000{'descr': '<f8', 'fortran_order': False, '"
    "shape': (), }                                                              \012\000\000\000\000"
    "\000\000\012@PK\001\002-\003-\000\000\000\000\000\000\000!\000\374\321hh\377\377\377\377\377"
    "\377\377\377\005\000\024\000\000\000\000\000\000\000\000\000\200\001\000\000\000\000x.npy\001"
    "\000\020\000\260\000\000\000\000\000\000\000\260\000\000\000\000\000\000\000PK\001\002-\003-"
    "\000\000\000\000\000\000\000!\000\3508\021\205\377\377\377\377\377\377\377\377\007\000\034\000"
    "\000\000\000\000\000\000\000\000\200\001\377\377\377\377idx.npy\001\000\030\000\250\000\000\000"
    "\000\000\000\000\250\000\000\000\000\000\000\000\347\000\000\000\000\000\000\000PK\001\002-\003"
    "-\000\000\000\000\000\000\000!\000\026\223\214\273\377\377\377\377\377\377\377\377\010\000\034"
    "\000\000\000\000\000\000\000\000\000\200\001\377\377\377\377flag.npy\001\000\030\000\203\000"
    "\000\000\000\000\000\000\203\000\000\000\000\000\000\000\310\001\000\000\000\000\000\000PK\001"
    "\002-\003-\000\000\000\000\000\000\000!\000\273\231\271\015\377\377\377\377\377\377\377\377\005"
    "\000\034\000\000\000\000\000\000\000\000\000\200\001\377\377\377\377s.npy\001\000\030\000\210"
    "\000\000\000\000\000\000\000\210\000\000\000\000\000\000\000\205\002\000\000\000\000\000\000"
    "PK\006\006,\000\000\000\000\000\000\000-\000-\000\000\000\000\000\000\000\000\000\004\000\000"
    "\000\000\000\000\000\004\000\000\000\000\000\000\0009\001\000\000\000\000\000\000D\003\000\000"
    "\000\000\000\000PK\006\007\000\000\000\000}\004\000\000\000\000\000\000\001\000\000\000PK\005"
    "\006\000\000\000\000\004\000\004\0009\001\000\000D\003\000\000\000\000";
/* clang-format on */
#define FX(a) (a), (sizeof(a) - 1)

static char tmpdir[256];

static const char *tpath(const char *name)
{
    static char buf[8][512];
    static int k;
    char *b = buf[k++ & 7];
    snprintf(b, 512, "%s/%s", tmpdir, name);
    return b;
}

static const char *put_file(const char *name, const void *data, size_t n)
{
    const char *p = tpath(name);
    remove(p);   /* a fresh file: truncating one in place makes ext4 flush it on close (slow) */
    FILE *f = fopen(p, "wb");
    if (!f) return p;
    fwrite(data, 1, n, f);
    fclose(f);
    return p;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)len + 1);
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    b[*n] = 0;
    return b;
}

/* Number of leftover "*.tmp-*" files in the test directory (must always be 0). */
static int count_tmp_files(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) n += strstr(e->d_name, ".tmp-") != NULL;
    if (d) closedir(d);
    return n;
}

static int exists(const char *p) { return access(p, F_OK) == 0; }

/* Read a whole .npy file; returns malloc'd data (NULL on error, message in ctx). */
static void *read_npy(st_ctx *ctx, const char *path, st_npy_info *info)
{
    if (st_npy_read_header(ctx, path, info)) return NULL;
    int64_t n = 1;
    for (int i = 0; i < info->ndim; i++) n *= info->shape[i];
    void *out = malloc(n * st_dtype_size(info->dtype) + 1);
    if (st_npy_read_data(ctx, path, info, out)) { free(out); return NULL; }
    return out;
}

static void *read_member(st_ctx *ctx, st_npz *z, int i, st_npy_info *info)
{
    if (st_npz_info(ctx, z, i, info)) return NULL;
    int64_t n = 1;
    for (int k = 0; k < info->ndim; k++) n *= info->shape[k];
    void *out = malloc(n * st_dtype_size(info->dtype) + 1);
    if (st_npz_read(ctx, z, i, info, out)) { free(out); return NULL; }
    return out;
}

static int shape_is(const st_npy_info *in, int ndim, int64_t a, int64_t b, int64_t c)
{
    int64_t s[3] = {a, b, c};
    if (in->ndim != ndim) return 0;
    for (int i = 0; i < ndim; i++) if (in->shape[i] != s[i]) return 0;
    return 1;
}

/* ------------------------------------------------------------------ NumPy-written .npy files */

static const double F8[] = {1.5, -2.25, 3e300, 3.14159265358979323846, -0.0, 1e-310};
static const int32_t I4[] = {INT32_MIN, INT32_MAX, 0, -1, 12345};
static const int64_t I8[] = {INT64_MIN, INT64_MAX, 0, -1};
static const uint8_t U1[] = {0, 1, 127, 128, 254, 255, 3, 4};
/* numpy rounds the Python floats (doubles) to float32, hence the casts through double */
static float f4v(int i)
{
    static const double d[] = {1.5, -2.25, 3.0e38, 1e-40, 7.0, 0.1};
    return (float)d[i];
}

TEST(numpy_npy_headers_and_values)
{
    st_ctx *ctx = st_ctx_create();
    st_npy_info in;
    double *d = read_npy(ctx, put_file("f8.npy", FX(fx_npy_f8)), &in);
    CHECK_MSG(d != NULL, "%s", st_ctx_message(ctx));
    CHECK(in.dtype == ST_F64 && shape_is(&in, 2, 2, 3, 0) && !in.fortran && !in.swap);
    CHECK(in.offset == 128);   /* numpy pads the header to a multiple of 64 */
    for (int i = 0; d && i < 6; i++) CHECK(memcmp(&d[i], &F8[i], 8) == 0);   /* bitwise: -0, subnormal */
    free(d);

    float *f = read_npy(ctx, put_file("f4.npy", FX(fx_npy_f4)), &in);
    CHECK(f && in.dtype == ST_F32 && shape_is(&in, 2, 3, 2, 0));
    for (int i = 0; f && i < 6; i++) CHECK(f[i] == f4v(i));
    free(f);

    int32_t *i4 = read_npy(ctx, put_file("i4.npy", FX(fx_npy_i4)), &in);
    CHECK(i4 && in.dtype == ST_I32 && shape_is(&in, 1, 5, 0, 0));
    for (int i = 0; i4 && i < 5; i++) CHECK(i4[i] == I4[i]);
    free(i4);

    int64_t *i8 = read_npy(ctx, put_file("i8.npy", FX(fx_npy_i8)), &in);
    CHECK(i8 && in.dtype == ST_I64 && shape_is(&in, 2, 2, 2, 0));
    for (int i = 0; i8 && i < 4; i++) CHECK(i8[i] == I8[i]);
    free(i8);

    uint8_t *u1 = read_npy(ctx, put_file("u1.npy", FX(fx_npy_u1)), &in);
    CHECK(u1 && in.dtype == ST_U8 && shape_is(&in, 3, 2, 2, 2));
    for (int i = 0; u1 && i < 8; i++) CHECK(u1[i] == U1[i]);
    free(u1);

    uint8_t *b1 = read_npy(ctx, put_file("b1.npy", FX(fx_npy_b1)), &in);
    CHECK(b1 && in.dtype == ST_U8 && shape_is(&in, 1, 3, 0, 0));
    CHECK(b1 && b1[0] == 1 && b1[1] == 0 && b1[2] == 1);
    free(b1);
    st_ctx_destroy(ctx);
}

TEST(numpy_big_endian)
{
    st_ctx *ctx = st_ctx_create();
    st_npy_info in;
    double *d = read_npy(ctx, put_file("be_f8.npy", FX(fx_npy_be_f8)), &in);
    const double ef8[] = {1.5, -2.25, 3.14159265358979323846, 1e-310};
    CHECK(d && in.dtype == ST_F64 && in.swap == 1 && shape_is(&in, 2, 2, 2, 0));
    for (int i = 0; d && i < 4; i++) CHECK(d[i] == ef8[i]);
    free(d);
    float *f = read_npy(ctx, put_file("be_f4.npy", FX(fx_npy_be_f4)), &in);
    CHECK(f && in.dtype == ST_F32 && in.swap && f[0] == 1.5f && f[1] == -2.25f && f[2] == (float)0.1);
    free(f);
    int32_t *i4 = read_npy(ctx, put_file("be_i4.npy", FX(fx_npy_be_i4)), &in);
    CHECK(i4 && in.dtype == ST_I32 && in.swap && shape_is(&in, 2, 1, 3, 0));
    CHECK(i4 && i4[0] == 1 && i4[1] == -2 && i4[2] == 70000);
    free(i4);
    int64_t *i8 = read_npy(ctx, put_file("be_i8.npy", FX(fx_npy_be_i8)), &in);
    CHECK(i8 && in.dtype == ST_I64 && in.swap && i8[0] == -(INT64_C(1) << 40) && i8[1] == 5);
    free(i8);
    st_ctx_destroy(ctx);
}

TEST(numpy_fortran_order)
{
    st_ctx *ctx = st_ctx_create();
    st_npy_info in;
    int32_t *a = read_npy(ctx, put_file("fort.npy", FX(fx_npy_fort_i4)), &in);
    CHECK(a && in.fortran == 1 && in.dtype == ST_I32 && shape_is(&in, 3, 2, 3, 4));
    for (int i = 0; a && i < 24; i++) CHECK(a[i] == i);   /* arange(24).reshape(2,3,4), C order */
    free(a);
    double *d = read_npy(ctx, put_file("fortbe.npy", FX(fx_npy_fort_be_f8)), &in);
    CHECK(d && in.fortran && in.swap && shape_is(&in, 2, 2, 3, 0));
    for (int i = 0; d && i < 6; i++) CHECK(d[i] == i * 0.5 - 1);
    free(d);
    st_ctx_destroy(ctx);
}

TEST(numpy_versions_2_and_3)
{
    st_ctx *ctx = st_ctx_create();
    st_npy_info in;
    const char *names[2] = {"v2.npy", "v3.npy"};
    const char *data[2] = {fx_npy_f8_v2, fx_npy_f8_v3};
    size_t len[2] = {sizeof fx_npy_f8_v2 - 1, sizeof fx_npy_f8_v3 - 1};
    for (int v = 0; v < 2; v++) {
        CHECK(data[v][6] == 2 + v);   /* the fixture really is version 2.0 / 3.0 */
        double *d = read_npy(ctx, put_file(names[v], data[v], len[v]), &in);
        CHECK_MSG(d != NULL, "%s", st_ctx_message(ctx));
        CHECK(in.offset % 64 == 0 && shape_is(&in, 2, 2, 3, 0));
        for (int i = 0; d && i < 6; i++) CHECK(memcmp(&d[i], &F8[i], 8) == 0);
        free(d);
    }
    st_ctx_destroy(ctx);
}

TEST(numpy_scalar_and_empty)
{
    st_ctx *ctx = st_ctx_create();
    st_npy_info in;
    double *d = read_npy(ctx, put_file("scalar.npy", FX(fx_npy_scalar)), &in);
    CHECK(d && in.ndim == 0 && in.dtype == ST_F64 && d[0] == 3.25);
    free(d);
    const char *p = put_file("empty.npy", FX(fx_npy_empty));
    CHECK_OK(ctx, st_npy_read_header(ctx, p, &in));
    CHECK(shape_is(&in, 2, 0, 3, 0));
    CHECK_OK(ctx, st_npy_read_data(ctx, p, &in, NULL));   /* nothing to fill: NULL is fine */
    st_ctx_destroy(ctx);
}

/* A Fortran-order file written by hand: element (i,j,k) of shape (3,4,2) = 100i + 10j + k sits
 * at position i + 3j + 12k (column-major). */
TEST(fortran_order_by_hand)
{
    st_ctx *ctx = st_ctx_create();
    char hdr[128];
    const char *dict = "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 4, 2), }";
    int hl = 128 - 10;
    memset(hdr, ' ', sizeof hdr);
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    hdr[8] = (char)hl;
    hdr[9] = 0;
    memcpy(hdr + 10, dict, strlen(dict));
    hdr[127] = '\n';
    double data[24];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 2; k++) data[i + 3 * j + 12 * k] = 100 * i + 10 * j + k;
    char file[128 + sizeof data];
    memcpy(file, hdr, 128);
    memcpy(file + 128, data, sizeof data);
    st_npy_info in;
    double *d = read_npy(ctx, put_file("hand_fortran.npy", file, sizeof file), &in);
    CHECK_MSG(d != NULL, "%s", st_ctx_message(ctx));
    CHECK(in.fortran == 1 && shape_is(&in, 3, 3, 4, 2));
    for (int i = 0; d && i < 3; i++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 2; k++) CHECK(d[(i * 4 + j) * 2 + k] == 100 * i + 10 * j + k);
    free(d);
    /* larger ones, long enough along the last axis for the tiled copy: (50, 40) and (33, 5, 40) */
    int64_t shapes[2][3] = {{50, 40, 1}, {33, 5, 40}};
    for (int c = 0; c < 2; c++) {
        int nd = c ? 3 : 2;
        int64_t n0 = shapes[c][0], n1 = shapes[c][1], n2 = shapes[c][2], n = n0 * n1 * n2;
        char hdr2[129];
        if (c)
            snprintf(hdr2, sizeof hdr2, "{'descr': '<i4', 'fortran_order': True, 'shape': (%lld, %lld, %lld), }",
                     (long long)n0, (long long)n1, (long long)n2);
        else
            snprintf(hdr2, sizeof hdr2, "{'descr': '<i4', 'fortran_order': True, 'shape': (%lld, %lld), }",
                     (long long)n0, (long long)n1);
        char *buf = malloc(128 + n * 4);
        memset(buf, ' ', 128);
        memcpy(buf, "\x93NUMPY\x01\x00\x76\x00", 10);
        memcpy(buf + 10, hdr2, strlen(hdr2));
        buf[127] = '\n';
        int32_t *fd = (int32_t *)(buf + 128);   /* element (i,j,k) at i + n0 j + n0 n1 k */
        for (int64_t i = 0; i < n0; i++)
            for (int64_t j = 0; j < n1; j++)
                for (int64_t k = 0; k < n2; k++) fd[i + n0 * j + n0 * n1 * k] = (int32_t)(10000 * i + 100 * j + k);
        int32_t *a = read_npy(ctx, put_file("hand_fortran2.npy", buf, 128 + n * 4), &in);
        CHECK_MSG(a && in.ndim == nd && in.fortran, "%s", st_ctx_message(ctx));
        int64_t bad = 0;
        for (int64_t i = 0; a && i < n0; i++)
            for (int64_t j = 0; j < n1; j++)
                for (int64_t k = 0; k < n2; k++) bad += a[(i * n1 + j) * n2 + k] != 10000 * i + 100 * j + k;
        CHECK_MSG(a && bad == 0, "case %d: %lld wrong elements", c, (long long)bad);
        free(a);
        free(buf);
    }
    st_ctx_destroy(ctx);
}

/* ------------------------------------------------------------------ writing */

static int same_file(const char *path, const char *ref, size_t n)
{
    size_t m;
    char *b = slurp(path, &m);
    int ok = b && m == n && memcmp(b, ref, n) == 0;
    free(b);
    return ok;
}

/* Our writer must produce exactly np.save's bytes for the same array (header text, 1.24 growth
 * padding, 64-byte alignment, data). */
TEST(write_is_byte_identical_to_numpy)
{
    st_ctx *ctx = st_ctx_create();
    float f4[6];
    for (int i = 0; i < 6; i++) f4[i] = f4v(i);
    double scalar = 3.25;
    const int64_t T = 1000000000000;
    struct { const void *data; int dtype, ndim; int64_t s0, s1, s2, s3; const char *ref; size_t n; } c[] = {
        {F8, ST_F64, 2, 2, 3, 0, 0, FX(fx_npy_f8)},
        {f4, ST_F32, 2, 3, 2, 0, 0, FX(fx_npy_f4)},
        {I4, ST_I32, 1, 5, 0, 0, 0, FX(fx_npy_i4)},
        {I8, ST_I64, 2, 2, 2, 0, 0, FX(fx_npy_i8)},
        {U1, ST_U8, 3, 2, 2, 2, 0, FX(fx_npy_u1)},
        {&scalar, ST_F64, 0, 0, 0, 0, 0, FX(fx_npy_scalar)},
        {NULL, ST_F64, 2, 0, 3, 0, 0, FX(fx_npy_empty)},
        {NULL, ST_F64, 4, 0, T, T, T, FX(fx_npy_growth)},   /* 192-byte header */
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        st_view v = {(void *)c[k].data, c[k].dtype, c[k].ndim, {c[k].s0, c[k].s1, c[k].s2, c[k].s3}, {0}};
        if (c[k].ndim < 4) st_view_set_contiguous(&v);   /* (0, T, T, T) strides would overflow */
        const char *p = tpath("ours.npy");
        CHECK_OK(ctx, st_npy_write(ctx, p, &v));
        CHECK_MSG(same_file(p, c[k].ref, c[k].n), "case %zu differs from np.save", k);
    }
    st_npy_info in;   /* and the header-only file reads back */
    CHECK_OK(ctx, st_npy_read_header(ctx, put_file("growth.npy", FX(fx_npy_growth)), &in));
    CHECK(in.offset == 192 && in.ndim == 4 && in.shape[0] == 0 && in.shape[3] == T);
    CHECK(count_tmp_files() == 0);
    st_ctx_destroy(ctx);
}

/* Value at C-order position of a strided view: direct index arithmetic, independent of the
 * writer's odometer. */
static void expected_c_order(const st_view *v, char *dst)
{
    size_t es = st_dtype_size(v->dtype);
    int64_t n = st_view_numel(v), idx[8];
    for (int64_t flat = 0; flat < n; flat++) {
        int64_t r = flat, off = 0;
        for (int k = v->ndim - 1; k >= 0; k--) {
            idx[k] = r % v->shape[k];
            r /= v->shape[k];
            off += idx[k] * v->strides[k];
        }
        memcpy(dst + flat * es, (const char *)v->data + off * (int64_t)es, es);
    }
}

static void fill_pattern(void *buf, int dtype, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        switch (dtype) {
        case ST_F64: ((double *)buf)[i] = i * 0.37 - 11.0; break;
        case ST_F32: ((float *)buf)[i] = (float)(i * 0.37 - 11.0); break;
        case ST_I32: ((int32_t *)buf)[i] = (int32_t)(i * 7919 - 100000); break;
        case ST_I64: ((int64_t *)buf)[i] = i * INT64_C(1000000007) - (INT64_C(1) << 50); break;
        case ST_U8: ((uint8_t *)buf)[i] = (uint8_t)(i * 37); break;
        }
    }
}

static int roundtrip_npy(st_ctx *ctx, const st_view *v)
{
    size_t es = st_dtype_size(v->dtype);
    int64_t n = st_view_numel(v);
    char *want = malloc(n * es + 1);
    expected_c_order(v, want);
    const char *p = tpath("rt.npy");
    int ok = st_npy_write(ctx, p, v) == ST_OK;
    st_npy_info in;
    char *got = ok ? read_npy(ctx, p, &in) : NULL;
    ok = got && in.dtype == v->dtype && in.ndim == v->ndim && !in.fortran && !in.swap &&
         in.offset % 64 == 0 && memcmp(got, want, n * es) == 0;
    for (int k = 0; ok && k < v->ndim; k++) ok = in.shape[k] == v->shape[k];
    free(want);
    free(got);
    return ok;
}

TEST(roundtrip_all_dtypes_and_layouts)
{
    st_ctx *ctx = st_ctx_create();
    int dtypes[] = {ST_F64, ST_F32, ST_I32, ST_I64, ST_U8};
    char *base = malloc(45 * 7 * 37 * 8);
    for (int t = 0; t < 5; t++) {
        int dt = dtypes[t];
        size_t es = st_dtype_size(dt);
        fill_pattern(base, dt, 45 * 7 * 37);
        st_view rev = {base, dt, 3, {37, 7, 45}, {1, 37, 259}};   /* reversed axes of (45, 7, 37): */
        CHECK_MSG(roundtrip_npy(ctx, &rev), "dtype %d reversed 3-d", dt);   /* tiled gather path */
        st_view c = {base, dt, 3, {4, 5, 6}, {0}};
        st_view_set_contiguous(&c);
        CHECK_MSG(roundtrip_npy(ctx, &c), "dtype %d contiguous: %s", dt, st_ctx_message(ctx));
        st_view tr = {base, dt, 3, {6, 5, 4}, {1, 6, 30}};   /* full transpose */
        CHECK_MSG(roundtrip_npy(ctx, &tr), "dtype %d transposed", dt);
        st_view sl = {base, dt, 2, {2, 3}, {60, 2}};          /* every other row block, step 2 */
        CHECK_MSG(roundtrip_npy(ctx, &sl), "dtype %d strided", dt);
        st_view neg = {(char *)base + 119 * es, dt, 2, {10, 12}, {-12, -1}};   /* reversed */
        CHECK_MSG(roundtrip_npy(ctx, &neg), "dtype %d negative strides", dt);
        st_view bc = {base, dt, 2, {3, 7}, {0, 1}};           /* broadcast row */
        CHECK_MSG(roundtrip_npy(ctx, &bc), "dtype %d broadcast", dt);
        st_view sc = {(char *)base + 5 * es, dt, 0, {0}, {0}};
        CHECK_MSG(roundtrip_npy(ctx, &sc), "dtype %d 0-d", dt);
        st_view em = {NULL, dt, 3, {2, 0, 5}, {0}};
        st_view_set_contiguous(&em);
        CHECK_MSG(roundtrip_npy(ctx, &em), "dtype %d empty", dt);
        int64_t sh8[8] = {2, 1, 2, 1, 3, 1, 2, 5};             /* 8 dims, permuted strides */
        st_view v8 = {base, dt, 8, {0}, {0}};
        memcpy(v8.shape, sh8, sizeof sh8);
        st_view_set_contiguous(&v8);
        int64_t t0 = v8.strides[0];
        v8.strides[0] = v8.strides[7];
        v8.strides[7] = t0;
        v8.shape[0] = 5;
        v8.shape[7] = 2;
        CHECK_MSG(roundtrip_npy(ctx, &v8), "dtype %d 8-d permuted", dt);
    }
    free(base);
    CHECK(count_tmp_files() == 0);
    st_ctx_destroy(ctx);
}

/* A 1-d strided view longer than the writer's 1 MiB gather buffer (crosses chunk boundaries). */
TEST(roundtrip_large_strided)
{
    st_ctx *ctx = st_ctx_create();
    int64_t n = 400000;
    double *b = malloc(2 * n * sizeof *b);
    fill_pattern(b, ST_F64, 2 * n);
    st_view v = {b + 1, ST_F64, 2, {n / 1000, 1000}, {2000, 2}};
    CHECK(roundtrip_npy(ctx, &v));
    free(b);
    st_ctx_destroy(ctx);
}

/* ------------------------------------------------------------------ shared reference data */

/* Finds "<file>": { ... "x_sum": v, "x_row0": [63 numbers] and "n_envs": n in reference.json. */
static int reference_values(const char *json, const char *file, double *xsum, double *row0,
                            int *nenv)
{
    char key[128];
    snprintf(key, sizeof key, "\"%s\": {", file);
    const char *p = strstr(json, key);
    if (!p) return 0;
    const char *s = strstr(p, "\"x_sum\":"), *r = strstr(p, "\"x_row0\": ["),
               *n = strstr(p, "\"n_envs\":");
    if (!s || !r || !n) return 0;
    *xsum = strtod(s + 8, NULL);
    *nenv = atoi(n + 9);
    char *e = (char *)r + 11;
    for (int i = 0; i < 63; i++) {
        row0[i] = strtod(e, &e);
        while (*e == ',' || *e == ' ' || *e == '\n') e++;
    }
    return 1;
}

static void check_quests_file(const char *npy, const char *xyz)
{
    const char *jpath = SHARED("quests_ref/reference.json");
    char rel[256];
    snprintf(rel, sizeof rel, "quests_ref/%s", npy);
    const char *path = SHARED(rel);
    if (!jpath || !path) return;
    size_t jn;
    char *json = slurp(jpath, &jn);
    double xsum = 0, row0[63];
    int nenv = 0;
    CHECK_MSG(json && reference_values(json, xyz, &xsum, row0, &nenv), "no entry for %s", xyz);
    free(json);
    st_ctx *ctx = st_ctx_create();
    st_npy_info in;
    double *x = read_npy(ctx, path, &in);
    CHECK_MSG(x != NULL, "%s", st_ctx_message(ctx));
    CHECK(in.dtype == ST_F64 && shape_is(&in, 2, nenv, 63, 0) && !in.fortran);
    double s = 0;
    for (int64_t i = 0; x && i < (int64_t)nenv * 63; i++) s += x[i];
    CHECK_MSG(fabs(s - xsum) <= 1e-9 * fabs(xsum), "%s: sum %.17g, reference x_sum %.17g", npy, s, xsum);
    for (int i = 0; x && i < 63; i++) CHECK_MSG(x[i] == row0[i], "%s: x[0][%d]", npy, i);
    free(x);
    st_ctx_destroy(ctx);
}

TEST(quests_reference_matrices)
{
    if (!SHARED("quests_ref/reference.json")) SKIP("../shared/data/quests_ref absent");
    static const char *files[][2] = {
        {"cu_fcc_4x4x4_s005_seed0.quests_x.npy", "cu_fcc_4x4x4_s005_seed0.xyz"},
        {"cu_fcc_4x4x4_s010_seed1.quests_x.npy", "cu_fcc_4x4x4_s010_seed1.xyz"},
        {"cu_cluster_r8_s005_seed2.quests_x.npy", "cu_cluster_r8_s005_seed2.xyz"},
        {"cu_fcc_3x3x3_s008_seed3_2frames.quests_x.npy", "cu_fcc_3x3x3_s008_seed3_2frames.xyz"},
        {"cu_1k.quests_x.npy", "cu_1k.xyz"},
    };
    int found = 0;
    for (int i = 0; i < 5; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "quests_ref/%s", files[i][0]);
        if (!SHARED(rel)) continue;
        found++;
        check_quests_file(files[i][0], files[i][1]);
    }
    CHECK(found > 0);
}

/* The perfect-crystal matrix (x_sum = 1221.654033400447) is named in reference.json but the
 * .npy is not shipped in ../shared at the time of writing; checked when it appears. */
TEST(quests_cu_fcc_4x4x4)
{
    if (!SHARED("quests_ref/cu_fcc_4x4x4.quests_x.npy"))
        SKIP("../shared/data/quests_ref/cu_fcc_4x4x4.quests_x.npy absent");
    check_quests_file("cu_fcc_4x4x4.quests_x.npy", "cu_fcc_4x4x4.xyz");
}

/* ------------------------------------------------------------------ .npz */

static void check_members(st_ctx *ctx, const char *path)
{
    st_npz *z = NULL;
    CHECK_OK(ctx, st_npz_open(ctx, path, &z));
    if (!z) return;
    CHECK(st_npz_count(z) == 4);
    const char *names[] = {"x", "idx", "flag", "s"};
    for (int i = 0; i < 4; i++) {
        CHECK_MSG(st_npz_name(z, i) && !strcmp(st_npz_name(z, i), names[i]), "%s: name %d", path, i);
        CHECK(st_npz_find(z, names[i]) == i);
    }
    CHECK(st_npz_find(z, "idx.npy") == 1 && st_npz_find(z, "nope") == -1 && !st_npz_name(z, 4));
    st_npy_info in;
    double *x = read_member(ctx, z, 0, &in);
    CHECK_MSG(x != NULL, "%s", st_ctx_message(ctx));
    CHECK(in.dtype == ST_F64 && shape_is(&in, 2, 2, 3, 0));
    for (int i = 0; x && i < 6; i++) CHECK(memcmp(&x[i], &F8[i], 8) == 0);
    free(x);
    int64_t *idx = read_member(ctx, z, 1, &in);
    const int64_t eidx[] = {7, -8, 9, 10, -11};
    CHECK(idx && in.dtype == ST_I64 && shape_is(&in, 1, 5, 0, 0));
    for (int i = 0; idx && i < 5; i++) CHECK(idx[i] == eidx[i]);
    free(idx);
    uint8_t *fl = read_member(ctx, z, 2, &in);
    CHECK(fl && in.dtype == ST_U8 && fl[0] == 1 && fl[1] == 0 && fl[2] == 1);
    free(fl);
    double *s = read_member(ctx, z, 3, &in);
    CHECK(s && in.ndim == 0 && s[0] == 3.25);
    free(s);
    st_npz_close(z);
}

TEST(numpy_npz_files)
{
    st_ctx *ctx = st_ctx_create();
    check_members(ctx, put_file("stored.npz", FX(fx_npz_stored)));
    check_members(ctx, put_file("deflate.npz", FX(fx_npz_deflate)));
    check_members(ctx, put_file("datadesc.npz", FX(fx_npz_datadesc)));
    check_members(ctx, put_file("zip64.npz", FX(fx_npz_zip64)));
    /* the fixtures really exercise what they claim */
    CHECK(fx_npz_datadesc[6] & 8);                                        /* flag bit 3 */
    CHECK(memmem(fx_npz_zip64, sizeof fx_npz_zip64, "PK\x06\x06", 4) != NULL);
    CHECK(fx_npz_deflate[8] == 8 && fx_npz_stored[8] == 0);               /* method */
    st_npz_close(NULL);
    st_ctx_destroy(ctx);
}

/* Walks an archive from its first byte as a streaming unzip would (local header, name, extra,
 * data, next local header) and checks each local header's CRC-32 and sizes against the data
 * themselves, inflating deflate members with zlib.  The reader under test uses the central
 * directory instead, so this checks the other half of what the writer wrote.  Returns the number
 * of members, or -1 with a message. */
static int64_t le(const unsigned char *p, int n)
{
    int64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static int walk_local_headers(const char *path)
{
    size_t n, off = 0;
    unsigned char *b = (unsigned char *)slurp(path, &n);
    int count = 0, bad = 0;
    while (b && !bad && off + 30 <= n && le(b + off, 4) == 0x04034b50) {
        int flags = (int)le(b + off + 6, 2), method = (int)le(b + off + 8, 2);
        uint32_t crc = (uint32_t)le(b + off + 14, 4);
        int64_t cs = le(b + off + 18, 4), us = le(b + off + 22, 4);
        size_t nl = (size_t)le(b + off + 26, 2), xl = (size_t)le(b + off + 28, 2);
        if (cs == 0xffffffff || us == 0xffffffff) {   /* zip64 extra: both sizes, in order */
            const unsigned char *x = b + off + 30 + nl;
            if (xl < 20 || le(x, 2) != 1) { printf("#   %s: member %d: no zip64 extra\n", path, count); bad = 1; break; }
            us = le(x + 4, 8);
            cs = le(x + 12, 8);
        }
        size_t data = off + 30 + nl + xl;
        if ((flags & 8) || data + (size_t)cs > n) { printf("#   %s: member %d: bad header\n", path, count); bad = 1; break; }
        uint32_t c = (uint32_t)crc32(0, Z_NULL, 0);
        int64_t got = 0;
        if (method == 0) {
            c = (uint32_t)crc32(c, b + data, (uInt)cs);
            got = cs;
        } else {
            unsigned char buf[4096];
            z_stream zs;
            memset(&zs, 0, sizeof zs);
            inflateInit2(&zs, -15);
            zs.next_in = b + data;
            zs.avail_in = (uInt)cs;
            int zr;
            do {
                zs.next_out = buf;
                zs.avail_out = sizeof buf;
                zr = inflate(&zs, Z_NO_FLUSH);
                c = (uint32_t)crc32(c, buf, (uInt)(sizeof buf - zs.avail_out));
                got += (int64_t)(sizeof buf - zs.avail_out);
            } while (zr == Z_OK);
            inflateEnd(&zs);
            if (zr != Z_STREAM_END || zs.avail_in != 0) bad = 1;
        }
        if (bad || c != crc || got != us) {
            printf("#   %s: member %d: local header says crc %08x size %lld, data give %08x %lld\n",
                   path, count, crc, (long long)us, c, (long long)got);
            bad = 1;
        }
        off = data + (size_t)cs;
        count++;
    }
    if (!b || bad || off + 4 > n || le(b + off, 4) != 0x02014b50) {
        if (b && !bad) printf("#   %s: no central directory right after the last member\n", path);
        count = -1;
    }
    free(b);
    return count;
}

TEST(npz_write_roundtrip)
{
    st_ctx *ctx = st_ctx_create();
    double base[60];
    fill_pattern(base, ST_F64, 60);
    int32_t ib[14];
    fill_pattern(ib, ST_I32, 14);
    uint8_t ub[5] = {0, 1, 2, 254, 255};
    st_view a = {base, ST_F64, 2, {5, 12}, {12, 1}};
    st_view at = {base, ST_F64, 2, {12, 5}, {1, 12}};
    st_view is = {ib, ST_I32, 1, {7}, {2}};
    st_view u = {ub, ST_U8, 1, {5}, {1}};
    st_view sc = {base + 3, ST_F64, 0, {0}, {0}};
    st_view em = {NULL, ST_F32, 2, {0, 4}, {4, 1}};
    const st_view *vs[] = {&a, &at, &is, &u, &sc, &em};
    const char *names[] = {"a", "a_T", "ints", "bytes", "scalar", "empty"};
    for (int compress = 0; compress <= 1; compress++) {
        const char *p = tpath(compress ? "ours_c.npz" : "ours_s.npz");
        st_npz_writer *w = NULL;
        CHECK_OK(ctx, st_npz_writer_open(ctx, p, compress, &w));
        for (int i = 0; i < 6; i++) CHECK_OK(ctx, st_npz_writer_add(ctx, w, names[i], vs[i]));
        CHECK(!exists(p));   /* nothing under the final name until close */
        CHECK_OK(ctx, st_npz_writer_close(ctx, w));
        st_npz *z = NULL;
        CHECK_OK(ctx, st_npz_open(ctx, p, &z));
        CHECK(z && st_npz_count(z) == 6);
        for (int i = 0; z && i < 6; i++) {
            CHECK(!strcmp(st_npz_name(z, i), names[i]));
            st_npy_info in;
            char *got = read_member(ctx, z, i, &in);
            int64_t n = st_view_numel(vs[i]);
            size_t es = st_dtype_size(vs[i]->dtype);
            char *want = malloc(n * es + 1);
            expected_c_order(vs[i], want);
            CHECK_MSG(got && in.dtype == vs[i]->dtype && in.ndim == vs[i]->ndim &&
                      memcmp(got, want, n * es) == 0, "member %s (compress %d): %s", names[i],
                      compress, st_ctx_message(ctx));
            free(got);
            free(want);
        }
        st_npz_close(z);
        size_t len;
        char *bytes = slurp(p, &len);   /* method as requested, in the first local header */
        CHECK(bytes && bytes[8] == (compress ? 8 : 0));
        free(bytes);
        CHECK(walk_local_headers(p) == 6);
    }
    /* an empty archive is valid too */
    st_npz_writer *w = NULL;
    const char *p = tpath("none.npz");
    CHECK_OK(ctx, st_npz_writer_open(ctx, p, 1, &w));
    CHECK_OK(ctx, st_npz_writer_close(ctx, w));
    st_npz *z = NULL;
    CHECK_OK(ctx, st_npz_open(ctx, p, &z));
    CHECK(z && st_npz_count(z) == 0);
    st_npz_close(z);
    CHECK(count_tmp_files() == 0);
    st_ctx_destroy(ctx);
}

TEST(npz_writer_failures_and_abort)
{
    st_ctx *ctx = st_ctx_create();
    double d[4] = {1, 2, 3, 4};
    st_view v = {d, ST_F64, 1, {4}, {1}};
    st_view bad = {d, 17, 1, {4}, {1}};
    st_view neg = {d, ST_F64, 1, {-4}, {1}};
    const char *p = tpath("fail.npz");
    st_npz_writer *w = NULL;
    CHECK_OK(ctx, st_npz_writer_open(ctx, p, 0, &w));
    CHECK_OK(ctx, st_npz_writer_add(ctx, w, "v", &v));
    CHECK(st_npz_writer_add(ctx, w, "v", &v) == ST_ERR_ARG);      /* duplicate */
    CHECK(strstr(st_ctx_message(ctx), "fail.npz: member 'v.npy'") != NULL);
    CHECK(st_npz_writer_add(ctx, w, "b", &bad) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "dtype 17") != NULL);
    CHECK(st_npz_writer_add(ctx, w, "n", &neg) == ST_ERR_ARG);
    CHECK(st_npz_writer_add(ctx, w, "", &v) == ST_ERR_ARG);
    st_interrupt();   /* an interrupted add leaves the archive as it was */
    CHECK(st_npz_writer_add(ctx, w, "big", &v) == ST_ERR_INTERRUPTED);
    st_interrupt_clear();
    CHECK_OK(ctx, st_npz_writer_add(ctx, w, "w", &v));
    CHECK_OK(ctx, st_npz_writer_close(ctx, w));
    const char *clean = tpath("clean.npz");
    CHECK_OK(ctx, st_npz_writer_open(ctx, clean, 0, &w));
    CHECK_OK(ctx, st_npz_writer_add(ctx, w, "v", &v));
    CHECK_OK(ctx, st_npz_writer_add(ctx, w, "w", &v));
    CHECK_OK(ctx, st_npz_writer_close(ctx, w));
    struct stat s1, s2;
    CHECK(stat(p, &s1) == 0 && stat(clean, &s2) == 0 && s1.st_size == s2.st_size);
    st_npz *z = NULL;
    CHECK_OK(ctx, st_npz_open(ctx, p, &z));
    CHECK(z && st_npz_count(z) == 2 && !strcmp(st_npz_name(z, 1), "w"));
    st_npy_info in;
    double *got = z ? read_member(ctx, z, 1, &in) : NULL;
    CHECK(got && got[3] == 4);
    free(got);
    st_npz_close(z);
    /* abort: the final path keeps its old content */
    CHECK_OK(ctx, st_npz_writer_open(ctx, p, 1, &w));
    CHECK_OK(ctx, st_npz_writer_add(ctx, w, "x", &v));
    st_npz_writer_abort(w);
    st_npz_writer_abort(NULL);
    CHECK_OK(ctx, st_npz_open(ctx, p, &z));
    CHECK(z && st_npz_count(z) == 2);
    st_npz_close(z);
    CHECK(st_npz_writer_open(ctx, tpath("no/such/dir.npz"), 0, &w) == ST_ERR_IO && w == NULL);
    CHECK(strstr(st_ctx_message(ctx), "no/such/dir.npz") != NULL);
    CHECK(st_npz_writer_open(ctx, p, 2, &w) == ST_ERR_ARG);
    CHECK(count_tmp_files() == 0);
    st_ctx_destroy(ctx);
}

/* ------------------------------------------------------------------ errors */

/* Write a .npy whose header dict is `dict` (padded to 118 bytes) followed by `ndata` bytes. */
static const char *npy_with_header(const char *name, const char *dict, size_t ndata)
{
    static char buf[128 + 4096];
    memset(buf, ' ', 128);
    memcpy(buf, "\x93NUMPY\x01\x00\x76\x00", 10);
    memcpy(buf + 10, dict, strlen(dict));
    buf[127] = '\n';
    memset(buf + 128, 0, ndata);
    return put_file(name, buf, 128 + ndata);
}

static int fails_with(st_ctx *ctx, const char *path, int status, const char *needle)
{
    st_npy_info in;
    int rc = st_npy_read_header(ctx, path, &in);
    const char *msg = st_ctx_message(ctx);
    int ok = rc == status && strstr(msg, needle) != NULL && strstr(msg, tmpdir) != NULL;
    if (!ok) printf("#   %s: got status %d '%s'; expected %d with '%s'\n", path, rc, msg, status, needle);
    return ok;
}

TEST(npy_header_errors)
{
    st_ctx *ctx = st_ctx_create();
    const char *p;
    p = put_file("magic.npy", "\x93NUMPZ\x01\x00\x10\x00{}              \n", 26);
    CHECK(fails_with(ctx, p, ST_ERR_PARSE, "magic"));
    p = put_file("short.npy", "\x93NUM", 4);
    CHECK(fails_with(ctx, p, ST_ERR_PARSE, "too short"));
    p = put_file("ver.npy", "\x93NUMPY\x04\x00\x10\x00{}              \n", 26);
    CHECK(fails_with(ctx, p, ST_ERR_FORMAT, "version 4.0"));
    p = npy_with_header("notdict.npy", "[1, 2, 3]", 0);
    CHECK(fails_with(ctx, p, ST_ERR_PARSE, "expected a dict"));
    p = npy_with_header("nokey.npy", "{'descr': '<f8', 'shape': (2,), }", 16);
    CHECK(fails_with(ctx, p, ST_ERR_PARSE, "missing key 'fortran_order'"));
    p = npy_with_header("extrakey.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}", 16);
    CHECK(fails_with(ctx, p, ST_ERR_PARSE, "unexpected key 'x'"));
    p = npy_with_header("c16.npy", "{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }", 32);
    CHECK(fails_with(ctx, p, ST_ERR_FORMAT, "'<c16'"));
    p = npy_with_header("u2.npy", "{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }", 32);
    CHECK(fails_with(ctx, p, ST_ERR_FORMAT, "field 'descr': dtype '<u2'"));
    p = npy_with_header("pipe.npy", "{'descr': '|f8', 'fortran_order': False, 'shape': (2,), }", 32);
    CHECK(fails_with(ctx, p, ST_ERR_FORMAT, "'|f8'"));
    p = npy_with_header("struct.npy", "{'descr': [('a', '<f8'), ('b', '<i4')], 'fortran_order': False, 'shape': (2,), }", 32);
    CHECK(fails_with(ctx, p, ST_ERR_FORMAT, "[('a', '<f8')"));
    p = npy_with_header("fo.npy", "{'descr': '<f8', 'fortran_order': yes, 'shape': (2,), }", 16);
    CHECK(fails_with(ctx, p, ST_ERR_PARSE, "field 'fortran_order': expected True or False, got 'yes"));
    p = npy_with_header("neg.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2, -3), }", 16);
    CHECK(fails_with(ctx, p, ST_ERR_PARSE, "field 'shape': expected a non-negative dimension"));
    p = npy_with_header("absurd.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 16);
    CHECK(fails_with(ctx, p, ST_ERR_PARSE, "absurd"));
    p = npy_with_header("huge.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }", 16);
    CHECK(fails_with(ctx, p, ST_ERR_PARSE, "fits in 64 bits"));
    p = npy_with_header("big.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }", 16);
    CHECK(fails_with(ctx, p, ST_ERR_PARSE, "data section has 16 bytes but shape (1000000000000,)"));
    p = npy_with_header("ndim9.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 16);
    CHECK(fails_with(ctx, p, ST_ERR_FORMAT, "more than 8 dimensions"));
    p = npy_with_header("notuple.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2), }", 16);
    CHECK(fails_with(ctx, p, ST_ERR_PARSE, "not a tuple"));
    p = npy_with_header("garbage.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), } x", 16);
    CHECK(fails_with(ctx, p, ST_ERR_PARSE, "only padding after the dict"));
    p = npy_with_header("unterminated.npy", "{'descr': '<f8", 16);
    CHECK(fails_with(ctx, p, ST_ERR_PARSE, "closing quote"));
    p = npy_with_header("shortdata.npy", "{'descr': '<i4', 'fortran_order': False, 'shape': (3, 2), }", 20);
    CHECK(fails_with(ctx, p, ST_ERR_PARSE, "data section has 20 bytes but shape (3, 2) of int32 needs 24"));
    /* header length field pointing past the end of the file */
    p = put_file("hlen.npy", "\x93NUMPY\x01\x00\xff\x7f{}", 12);
    CHECK(fails_with(ctx, p, ST_ERR_PARSE, "runs past the end"));
    p = put_file("hlen2.npy", "\x93NUMPY\x02\x00\xff\xff\xff\x7f{}", 14);
    CHECK(fails_with(ctx, p, ST_ERR_PARSE, "absurd"));
    CHECK(fails_with(ctx, tpath("missing.npy"), ST_ERR_IO, "cannot open"));
    CHECK(fails_with(ctx, tmpdir, ST_ERR_IO, "not a regular file"));
    /* good header, but the info passed to read_data was altered */
    p = put_file("ok.npy", FX(fx_npy_f8));
    st_npy_info in;
    double out[64];
    CHECK_OK(ctx, st_npy_read_header(ctx, p, &in));
    in.shape[0] = 3;
    CHECK(st_npy_read_data(ctx, p, &in, out) == ST_ERR_ARG);
    CHECK(st_npy_read_header(ctx, NULL, &in) == ST_ERR_ARG);
    st_ctx_destroy(ctx);
}

/* Every proper prefix of a valid file must fail cleanly, naming the file. */
TEST(truncated_files)
{
    st_ctx *ctx = st_ctx_create();
    char out[256];
    int bad = 0;
    for (size_t L = 0; L < sizeof fx_npy_fort_i4 - 1; L++) {
        const char *p = put_file("trunc.npy", fx_npy_fort_i4, L);
        st_npy_info in;
        int rc = st_npy_read_header(ctx, p, &in);
        if (!rc) rc = st_npy_read_data(ctx, p, &in, out);
        if (!rc || !strstr(st_ctx_message(ctx), "trunc.npy")) bad++;
    }
    CHECK_MSG(bad == 0, "%d truncated .npy files were not rejected", bad);
    const char *src[2] = {fx_npz_deflate, fx_npz_zip64};
    size_t len[2] = {sizeof fx_npz_deflate - 1, sizeof fx_npz_zip64 - 1};
    for (int f = 0; f < 2; f++) {
        bad = 0;
        for (size_t L = 0; L < len[f]; L++) {
            const char *p = put_file("trunc.npz", src[f], L);
            st_npz *z = NULL;
            int rc = st_npz_open(ctx, p, &z);
            for (int i = 0; !rc && i < st_npz_count(z); i++) {
                st_npy_info in;
                rc = st_npz_info(ctx, z, i, &in);
                if (!rc) rc = st_npz_read(ctx, z, i, &in, out);
            }
            if (!rc || !strstr(st_ctx_message(ctx), "trunc.npz")) bad++;
            st_npz_close(z);
        }
        CHECK_MSG(bad == 0, "fixture %d: %d truncated .npz files were not rejected", f, bad);
    }
    st_ctx_destroy(ctx);
}

/* Change every byte of an archive in turn: reading must either fail with a message naming the
 * file, or give exactly the original arrays (bytes that do not matter: times, attributes...).
 * A change inside any member's data must be caught (by CRC-32 at the latest). */
static void corrupt_each_byte(const char *fx, size_t n, int *silent_data_changes, int *crashes_or_wrong)
{
    st_ctx *ctx = st_ctx_create();
    char *b = malloc(n);
    double ref[4][8];
    memset(ref, 0, sizeof ref);
    st_npz *z = NULL;
    st_npz_open(ctx, put_file("orig.npz", fx, n), &z);
    for (int i = 0; i < 4; i++) {
        st_npy_info in;
        st_npz_info(ctx, z, i, &in);
        st_npz_read(ctx, z, i, &in, ref[i]);
    }
    st_npz_close(z);
    for (size_t k = 0; k < n; k++) {
        memcpy(b, fx, n);
        b[k] ^= 0x5a;
        const char *p = put_file("corrupt.npz", b, n);
        int rc = st_npz_open(ctx, p, &z), same = 1;
        for (int i = 0; !rc && i < st_npz_count(z); i++) {
            st_npy_info in;
            double got[8] = {0};
            rc = st_npz_info(ctx, z, i, &in);
            int64_t bytes = (int64_t)st_dtype_size(in.dtype);
            for (int d = 0; !rc && d < in.ndim; d++)
                bytes = in.shape[d] == 0 ? 0 : bytes > (int64_t)sizeof got / in.shape[d] ? INT64_MAX : bytes * in.shape[d];
            if (!rc && bytes > (int64_t)sizeof got)
                rc = -1;   /* a changed shape that still fits the member: counts as a change */
            if (!rc) rc = st_npz_read(ctx, z, i, &in, got);
            if (!rc && memcmp(got, ref[i], sizeof got)) same = 0;
        }
        if (!rc && st_npz_count(z) != 4) same = 0;
        st_npz_close(z);
        if (rc > 0 && !strstr(st_ctx_message(ctx), "corrupt.npz")) (*crashes_or_wrong)++;
        if (!rc && !same) (*silent_data_changes)++;
    }
    free(b);
    st_ctx_destroy(ctx);
}

TEST(corrupted_archives)
{
    int silent = 0, wrong = 0;
    corrupt_each_byte(FX(fx_npz_stored), &silent, &wrong);
    CHECK_MSG(silent == 0 && wrong == 0, "stored: %d silent changes, %d bad messages", silent, wrong);
    silent = wrong = 0;
    corrupt_each_byte(FX(fx_npz_deflate), &silent, &wrong);
    CHECK_MSG(silent == 0 && wrong == 0, "deflate: %d silent changes, %d bad messages", silent, wrong);
    silent = wrong = 0;
    corrupt_each_byte(FX(fx_npz_zip64), &silent, &wrong);
    CHECK_MSG(silent == 0 && wrong == 0, "zip64: %d silent changes, %d bad messages", silent, wrong);
}

static size_t find_sig(const char *b, size_t n, const char *sig, size_t from)
{
    for (size_t i = from; i + 4 <= n; i++) if (!memcmp(b + i, sig, 4)) return i;
    return (size_t)-1;
}

TEST(npz_errors)
{
    st_ctx *ctx = st_ctx_create();
    st_npz *z = NULL;
    CHECK(walk_local_headers(put_file("walk.npz", FX(fx_npz_stored))) == 4);   /* the walker itself */
    CHECK(walk_local_headers(put_file("walk.npz", FX(fx_npz_deflate))) == 4);
    CHECK(st_npz_open(ctx, put_file("npy.npz", FX(fx_npy_f8)), &z) == ST_ERR_PARSE && !z);
    CHECK(strstr(st_ctx_message(ctx), "npy.npz: not a zip archive") != NULL);
    CHECK(st_npz_open(ctx, tpath("missing.npz"), &z) == ST_ERR_IO);
    CHECK(st_npz_open(ctx, put_file("tiny.npz", "PK", 2), &z) == ST_ERR_PARSE);
    size_t n = sizeof fx_npz_stored - 1;
    char *b = malloc(n);
    size_t cen = find_sig(fx_npz_stored, n, "PK\x01\x02", 0);   /* first central entry: x.npy */
    CHECK(cen != (size_t)-1);
    /* CRC-32 in the directory changed: the member reads, then fails the check */
    memcpy(b, fx_npz_stored, n);
    b[cen + 16] ^= 1;
    CHECK_OK(ctx, st_npz_open(ctx, put_file("crc.npz", b, n), &z));
    st_npy_info in;
    double out[8];
    CHECK_OK(ctx, st_npz_info(ctx, z, 0, &in));
    CHECK(st_npz_read(ctx, z, 0, &in, out) == ST_ERR_PARSE);
    CHECK(strstr(st_ctx_message(ctx), "crc.npz: member 'x.npy': CRC-32 mismatch") != NULL);
    CHECK(st_npz_info(ctx, z, 4, &in) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "member index 4 is out of range") != NULL);
    CHECK(st_npz_info(ctx, z, -1, &in) == ST_ERR_ARG);
    in.dtype = ST_F32;
    CHECK(st_npz_read(ctx, z, 1, &in, out) == ST_ERR_ARG);
    st_npz_close(z);
    /* unsupported method (12 = bzip2) in both headers */
    memcpy(b, fx_npz_stored, n);
    b[8] = 12;
    b[cen + 10] = 12;
    CHECK_OK(ctx, st_npz_open(ctx, put_file("bz.npz", b, n), &z));
    CHECK(st_npz_info(ctx, z, 0, &in) == ST_ERR_FORMAT);
    CHECK(strstr(st_ctx_message(ctx), "bz.npz: member 'x.npy': compression method 12") != NULL);
    CHECK(st_npz_info(ctx, z, 1, &in) == ST_OK);   /* other members still read */
    st_npz_close(z);
    /* encrypted flag */
    memcpy(b, fx_npz_stored, n);
    b[cen + 8] |= 1;
    CHECK_OK(ctx, st_npz_open(ctx, put_file("enc.npz", b, n), &z));
    CHECK(st_npz_info(ctx, z, 0, &in) == ST_ERR_FORMAT);
    CHECK(strstr(st_ctx_message(ctx), "encrypted") != NULL);
    st_npz_close(z);
    /* central directory offset pointing past the end */
    memcpy(b, fx_npz_stored, n);
    size_t eocd = find_sig(b, n, "PK\x05\x06", 0);
    b[eocd + 19] = 0x7f;
    CHECK(st_npz_open(ctx, put_file("cdoff.npz", b, n), &z) == ST_ERR_PARSE);
    CHECK(strstr(st_ctx_message(ctx), "cdoff.npz: corrupt zip: central directory") != NULL);
    /* a member whose .npy header is broken: error names file and member */
    memcpy(b, fx_npz_stored, n);
    size_t magic = find_sig(b, n, "\x93NUM", find_sig(b, n, "PK\x03\x04", 1));   /* 2nd member */
    b[magic + 1] = 'X';
    CHECK_OK(ctx, st_npz_open(ctx, put_file("member.npz", b, n), &z));
    CHECK(st_npz_info(ctx, z, 1, &in) == ST_ERR_PARSE);
    CHECK(strstr(st_ctx_message(ctx), "member.npz: member 'idx.npy': not a .npy file") != NULL);
    st_npz_close(z);
    /* bytes after the array inside a member are read past and covered by the CRC check */
    CHECK_OK(ctx, st_npz_open(ctx, put_file("trailing.npz", FX(fx_npz_trailing)), &z));
    double *a = z ? read_member(ctx, z, 0, &in) : NULL;
    CHECK_MSG(a && in.ndim == 1 && in.shape[0] == 3 && a[0] == 0 && a[2] == 2, "%s", st_ctx_message(ctx));
    free(a);
    st_npz_close(z);
    /* a deflate stream longer than the directory says (size and CRC patched to match a prefix) */
    CHECK_OK(ctx, st_npz_open(ctx, put_file("long.npz", FX(fx_npz_long)), &z));
    CHECK_OK(ctx, st_npz_info(ctx, z, 0, &in));
    CHECK(st_npz_read(ctx, z, 0, &in, out) == ST_ERR_PARSE);
    CHECK(strstr(st_ctx_message(ctx), "long.npz: member 'a.npy': member is longer") != NULL);
    st_npz_close(z);
    /* zip64 locator pointing at something that is not a zip64 end record */
    size_t n64 = sizeof fx_npz_zip64 - 1;
    char *y = malloc(n64);
    memcpy(y, fx_npz_zip64, n64);
    size_t loc = find_sig(y, n64, "PK\x06\x07", 0);
    CHECK(loc != (size_t)-1);
    memset(y + loc + 8, 0, 8);
    CHECK(st_npz_open(ctx, put_file("loc.npz", y, n64), &z) == ST_ERR_PARSE);
    CHECK(strstr(st_ctx_message(ctx), "loc.npz: corrupt zip: no zip64 end record at offset 0") != NULL);
    free(y);
    /* deflate data corrupted in the middle of the first member */
    size_t nd = sizeof fx_npz_deflate - 1;
    char *c = malloc(nd);
    memcpy(c, fx_npz_deflate, nd);
    for (int i = 60; i < 90; i++) c[i] = (char)0xff;
    CHECK_OK(ctx, st_npz_open(ctx, put_file("badz.npz", c, nd), &z));
    int rc = st_npz_info(ctx, z, 0, &in);
    if (!rc) rc = st_npz_read(ctx, z, 0, &in, out);
    CHECK(rc == ST_ERR_PARSE && strstr(st_ctx_message(ctx), "badz.npz: member 'x.npy'") != NULL);
    st_npz_close(z);
    free(c);
    free(b);
    st_ctx_destroy(ctx);
}

/* ------------------------------------------------------------------ interrupt, progress */

static double last_done, last_total;
static int progress_calls;
static void on_progress(void *ud, const char *what, double done, double total)
{
    (void)ud;
    (void)what;
    progress_calls++;
    last_done = done;
    last_total = total;
}

TEST(interrupt_and_progress)
{
    st_ctx *ctx = st_ctx_create();
    double *b = calloc(300000, sizeof *b);
    st_view v = {b, ST_F64, 2, {1000, 300}, {0}};
    st_view_set_contiguous(&v);
    const char *p = tpath("intr.npy");
    st_interrupt();
    CHECK(st_npy_write(ctx, p, &v) == ST_ERR_INTERRUPTED);
    st_interrupt_clear();
    CHECK(!exists(p) && count_tmp_files() == 0);   /* no file, no temporary left behind */
    st_ctx_set_progress(ctx, on_progress, NULL);
    CHECK_OK(ctx, st_npy_write(ctx, p, &v));
    CHECK(progress_calls > 0 && last_done == last_total && last_total == 300000.0 * 8);
    st_npy_info in;
    CHECK_OK(ctx, st_npy_read_header(ctx, p, &in));
    st_interrupt();
    CHECK(st_npy_read_data(ctx, p, &in, b) == ST_ERR_INTERRUPTED);
    CHECK(strstr(st_ctx_message(ctx), "intr.npy: interrupted") != NULL);
    st_interrupt_clear();
    progress_calls = 0;
    CHECK_OK(ctx, st_npy_read_data(ctx, p, &in, b));
    CHECK(progress_calls > 0 && last_done == last_total && last_total == 300000.0 * 8);
    /* a failed write leaves an existing file untouched */
    st_view bad = {NULL, ST_F64, 1, {3}, {1}};
    CHECK(st_npy_write(ctx, p, &bad) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "view data is NULL") != NULL);
    CHECK_OK(ctx, st_npy_read_header(ctx, p, &in));
    CHECK(shape_is(&in, 2, 1000, 300, 0));
    CHECK(st_npy_write(ctx, tpath("no/dir/x.npy"), &v) == ST_ERR_IO);
    free(b);
    st_ctx_destroy(ctx);
}

/* ------------------------------------------------------------------ NumPy reads our files */

static const char *python_with_numpy(void)
{
    static const char *cands[] = {"python3", "/usr/bin/python3"};
    for (int i = 0; i < 2; i++) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "%s -c 'import numpy' >/dev/null 2>&1", cands[i]);
        if (system(cmd) == 0) return cands[i];
    }
    return NULL;
}

TEST(numpy_loads_our_files)
{
    const char *py = python_with_numpy();
    if (!py) SKIP("python3 with numpy not installed");
    st_ctx *ctx = st_ctx_create();
    double d[15];
    for (int k = 0; k < 15; k++) d[k] = k * 0.25 - 1;
    int32_t ib[14];
    for (int k = 0; k < 14; k++) ib[k] = -3 * k;
    st_view t = {d, ST_F64, 2, {3, 5}, {1, 3}};   /* transpose of a (5, 3) matrix */
    st_view s = {ib, ST_I32, 1, {7}, {2}};
    st_view sc = {d + 5, ST_F64, 0, {0}, {0}};
    CHECK_OK(ctx, st_npy_write(ctx, tpath("py_t.npy"), &t));
    for (int c = 0; c <= 1; c++) {
        st_npz_writer *w = NULL;
        CHECK_OK(ctx, st_npz_writer_open(ctx, tpath(c ? "py_c.npz" : "py_s.npz"), c, &w));
        CHECK_OK(ctx, st_npz_writer_add(ctx, w, "t", &t));
        CHECK_OK(ctx, st_npz_writer_add(ctx, w, "s", &s));
        CHECK_OK(ctx, st_npz_writer_add(ctx, w, "scalar", &sc));
        CHECK_OK(ctx, st_npz_writer_close(ctx, w));
    }
    const char *script =
        "import sys, zipfile, numpy as np\n"
        "d = sys.argv[1]\n"
        "T = (np.arange(15) * 0.25 - 1).reshape(5, 3).T\n"
        "S = (np.arange(14, dtype='int32') * -3)[::2]\n"
        "a = np.load(d + '/py_t.npy')\n"
        "assert a.dtype == np.float64 and a.shape == (3, 5) and (a == T).all()\n"
        "for f in ('py_s.npz', 'py_c.npz'):\n"
        "    assert zipfile.ZipFile(d + '/' + f).testzip() is None\n"
        "    z = np.load(d + '/' + f)\n"
        "    assert z.files == ['t', 's', 'scalar'], z.files\n"
        "    assert (z['t'] == T).all() and z['s'].dtype == np.int32 and (z['s'] == S).all()\n"
        "    assert z['scalar'].shape == () and z['scalar'] == 0.25\n"
        "print('numpy-ok')\n";
    put_file("check.py", script, strlen(script));
    char cmd[1024], line[256] = "";
    snprintf(cmd, sizeof cmd, "%s %s %s 2>&1", py, tpath("check.py"), tmpdir);
    FILE *f = popen(cmd, "r");
    int ok = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (strstr(line, "numpy-ok")) ok = 1;
        else printf("#   python: %s", line);
    }
    if (f) pclose(f);
    CHECK(ok);
    st_ctx_destroy(ctx);
}

/* The writer's zip64 paths need a member over 2^31 - 1 bytes: a 2 GiB stride-0 view (one double
 * repeated), stored and deflated, followed by a small member whose offset then needs zip64 too.
 * Opt-in because it writes 2.1 GB to /tmp and reads it back into a 2 GiB buffer. */
TEST(zip64_large_member)
{
    if (!getenv("STRATA_HEAVY_TESTS")) SKIP("writes a 2.1 GB archive; set STRATA_HEAVY_TESTS=1");
    st_ctx *ctx = st_ctx_create();
    double half = 0.5, small[3] = {1, 2, 3};
    int64_t n = (INT64_C(1) << 28) + 1000;   /* 8n bytes > 2^31 - 1 */
    st_view big = {&half, ST_F64, 1, {n}, {0}};
    st_view sm = {small, ST_F64, 1, {3}, {1}};
    double *buf = malloc((size_t)n * 8);
    CHECK(buf != NULL);
    for (int compress = 0; buf && compress <= 1; compress++) {
        const char *p = tpath("big.npz");
        st_npz_writer *w = NULL;
        CHECK_OK(ctx, st_npz_writer_open(ctx, p, compress, &w));
        CHECK_OK(ctx, st_npz_writer_add(ctx, w, "big", &big));
        CHECK_OK(ctx, st_npz_writer_add(ctx, w, "small", &sm));
        CHECK_OK(ctx, st_npz_writer_close(ctx, w));
        FILE *f = fopen(p, "rb");   /* zip64 end record present when the directory is past 2 GiB */
        unsigned char tail[98];
        CHECK(f && fseek(f, -98, SEEK_END) == 0 && fread(tail, 1, 98, f) == 98);
        if (f) fclose(f);
        CHECK(le(tail, 4) == 0x06064b50 || compress);
        st_npz *z = NULL;
        CHECK_OK(ctx, st_npz_open(ctx, p, &z));
        st_npy_info in;
        CHECK_OK(ctx, st_npz_info(ctx, z, 0, &in));
        CHECK(in.ndim == 1 && in.shape[0] == n);
        CHECK_OK(ctx, st_npz_read(ctx, z, 0, &in, buf));
        int64_t wrong = 0;
        for (int64_t i = 0; i < n; i++) wrong += buf[i] != 0.5;
        CHECK(wrong == 0);
        CHECK_OK(ctx, st_npz_info(ctx, z, 1, &in));
        CHECK_OK(ctx, st_npz_read(ctx, z, 1, &in, buf));
        CHECK(buf[0] == 1 && buf[2] == 3);
        st_npz_close(z);
        const char *py = python_with_numpy();
        if (py) {
            char cmd[1024];
            snprintf(cmd, sizeof cmd, "%s -c \"import zipfile, numpy as np, sys; z = zipfile.ZipFile('%s'); "
                     "assert z.testzip() is None; i = z.getinfo('big.npy'); assert i.file_size == %lld + 128; "
                     "assert (np.load('%s')['small'] == [1, 2, 3]).all()\"", py, p, (long long)n * 8, p);
            CHECK(system(cmd) == 0);
        }
        remove(p);
    }
    free(buf);
    st_ctx_destroy(ctx);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/strata-test-npy-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        printf("Bail out! cannot create a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    RUN(numpy_npy_headers_and_values);
    RUN(numpy_big_endian);
    RUN(numpy_fortran_order);
    RUN(numpy_versions_2_and_3);
    RUN(numpy_scalar_and_empty);
    RUN(fortran_order_by_hand);
    RUN(write_is_byte_identical_to_numpy);
    RUN(roundtrip_all_dtypes_and_layouts);
    RUN(roundtrip_large_strided);
    RUN(quests_reference_matrices);
    RUN(quests_cu_fcc_4x4x4);
    RUN(numpy_npz_files);
    RUN(npz_write_roundtrip);
    RUN(npz_writer_failures_and_abort);
    RUN(npy_header_errors);
    RUN(truncated_files);
    RUN(corrupted_archives);
    RUN(npz_errors);
    RUN(interrupt_and_progress);
    RUN(numpy_loads_our_files);
    RUN(zip64_large_member);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) printf("# could not remove %s\n", tmpdir);
    return DONE();
}
