#ifndef MODEL_LINUX_MODULE_H
#define MODEL_LINUX_MODULE_H
struct module;
struct task_struct;
struct device;
#define MODULE_NAME_LEN	56
#endif
