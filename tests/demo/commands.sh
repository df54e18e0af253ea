# The commands of the reference article's two tests, as `make demo` runs
# them and the README shows them (tests/deploy/check_compose.sh checks that
# the README still shows these exact texts).  Sourced by tests/demo/demo.sh.

# Test 1 - add a new todo and see if there is a new record in es.
TEST1_SQL="INSERT INTO public.todos (title, completed, due) VALUES ('Publish new release', false, '2024-02-15 16:00:00.000');"

# Test 2 - update a todo to see if es is modified and not added.
TEST2_SQL="UPDATE public.todos SET completed = false, title = 'Create bug issue edited' WHERE id = 2;"

# What the index holds: the README runs curl on this path of
# http://localhost:9200, the demo on the emulator's address.
LOOK_PATH='/public.todos/_search?pretty'
