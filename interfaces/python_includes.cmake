# Given with -DCMAKE_PROJECT_INCLUDE by scripts/build_interfaces.py when building against the PyPI
# ROS 2 wheels (never in a ROS workspace). Those wheels export <pkg>__rosidl_generator_py targets
# whose include directories are the ones of the machine that built the wheels, which CMake refuses
# at its generate step. Once every find_package() of the package has run (deferred to the end of
# its top-level CMakeLists), keep the directories that exist and add this interpreter's headers.
function(_ler_fix_python_includes)
  find_package(Python3 REQUIRED COMPONENTS Interpreter Development.Module NumPy)
  get_directory_property(targets DIRECTORY "${CMAKE_SOURCE_DIR}" IMPORTED_TARGETS)
  foreach(target IN LISTS targets)
    if(NOT target MATCHES "__rosidl_generator_py$")
      continue()
    endif()
    get_target_property(dirs ${target} INTERFACE_INCLUDE_DIRECTORIES)
    set(kept "")
    foreach(dir IN LISTS dirs)
      if(EXISTS "${dir}")
        list(APPEND kept "${dir}")
      endif()
    endforeach()
    list(APPEND kept ${Python3_INCLUDE_DIRS} ${Python3_NumPy_INCLUDE_DIRS})
    list(REMOVE_DUPLICATES kept)
    set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${kept}")
  endforeach()
endfunction()

cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _ler_fix_python_includes)
